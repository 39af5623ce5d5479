import { defineCounter, defineGauge } from '../observe/metrics.js';
import type { BrokerCore } from './broker-core.js';
import type { QueueStats, Source } from './driver.js';

/**
 * The messaging metrics, the same names on every driver. Counters count what this process
 * did (published, delivered, acked, retried, dead-lettered). Gauges are queue-wide, read
 * from the driver's stats at each scrape for every queue and topic group this process
 * uses: two processes on one queue export the same value.
 */

type Labels = 'driver' | 'destination' | 'group';
const LABELS: readonly Labels[] = ['driver', 'destination', 'group'];

/** Brokers and the sources each uses, for the scrape-time gauges. */
const watched = new Map<BrokerCore, Map<string, Source>>();

/** Adds `source` to the gauges for as long as `core` is open. */
export function watchSource(core: BrokerCore, source: Source): void {
  let sources = watched.get(core);
  if (sources === undefined) {
    sources = new Map();
    watched.set(core, sources);
  }
  const key = source.kind === 'queue' ? `q:${source.queue}` : `t:${source.topic}/${source.group}`;
  sources.set(key, source);
  defineGauges();
}

export function labelsOf(driver: string, source: Source): Record<Labels, string> {
  return source.kind === 'queue'
    ? { driver, destination: source.queue, group: '' }
    : { driver, destination: source.topic, group: source.group };
}

interface Reading {
  labels: Record<Labels, string>;
  stats: QueueStats;
}

const STATS_TIMEOUT_MS = 2000;
let reading: Promise<Reading[]> | undefined;

/** One stats call per source per scrape, shared by every gauge's collect. */
function readAll(): Promise<Reading[]> {
  reading ??= (async () => {
    const jobs: Promise<Reading | undefined>[] = [];
    for (const [core, sources] of watched) {
      if (core.closed) {
        watched.delete(core);
        continue;
      }
      for (const source of sources.values()) {
        jobs.push(
          withTimeout(core.driver.stats(source)).then(
            (stats) => ({ labels: labelsOf(core.driver.name, source), stats }),
            // An engine that cannot answer leaves its series out of this scrape.
            () => undefined,
          ),
        );
      }
    }
    return (await Promise.all(jobs)).filter((r): r is Reading => r !== undefined);
  })().finally(() => {
    // Kept for this scrape's other gauges, which collect in the same turn.
    setImmediate(() => {
      reading = undefined;
    });
  });
  return reading;
}

function withTimeout<T>(work: Promise<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('stats timed out')), STATS_TIMEOUT_MS);
    timer.unref();
    work.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}

const SCOPE =
  'Queue-wide, from the driver at scrape time, for each queue and topic group this process uses.';

function gauge(name: string, help: string, value: (stats: QueueStats) => number) {
  const metric = defineGauge<Labels>({
    name,
    help: `${help} ${SCOPE}`,
    labelNames: LABELS,
    maxSeries: 500,
    collect: async () => {
      const readings = await readAll();
      metric.reset();
      for (const { labels, stats } of readings) metric.set(labels, value(stats));
    },
  });
  return metric;
}

function defineGauges(): void {
  gauge('sluice_messaging_depth', 'Messages ready for delivery now.', (s) => s.depth);
  gauge('sluice_messaging_in_flight', 'Messages delivered and not yet settled.', (s) => s.inFlight);
  gauge(
    'sluice_messaging_delayed',
    'Messages waiting for their delay or retry backoff.',
    (s) => s.delayed,
  );
  gauge(
    'sluice_messaging_oldest_age_seconds',
    'Age of the oldest message not yet acknowledged (0 when none).',
    (s) => s.oldestAgeMs / 1000,
  );
  gauge(
    'sluice_messaging_dead_letters',
    'Messages in the dead-letter queue.',
    (s) => s.deadLettered,
  );
  gauge(
    'sluice_messaging_consumer_lag',
    'Messages the queue or consumer group has not finished: ready, delayed and in flight.',
    (s) => s.depth + s.delayed + s.inFlight,
  );
}

function counter(name: string, help: string) {
  return defineCounter<Labels>({
    name,
    help: `${help} Counted by this process.`,
    labelNames: LABELS,
    maxSeries: 500,
  });
}

/** Looked up on each use, so a cleared registry gets them back. */
export const messagingCounters = {
  published: () =>
    counter(
      'sluice_messaging_published_total',
      'Messages stored by a publish (duplicates not counted).',
    ),
  delivered: () => counter('sluice_messaging_delivered_total', 'Messages handed to a handler.'),
  acked: () =>
    counter('sluice_messaging_acked_total', 'Messages a handler finished, acknowledged.'),
  retried: () =>
    counter('sluice_messaging_retried_total', 'Failed deliveries released for a retry.'),
  deadLettered: () =>
    counter('sluice_messaging_dead_lettered_total', 'Messages moved to the dead-letter queue.'),
};
