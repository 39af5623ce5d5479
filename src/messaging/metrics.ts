import { withTimeout } from '../core/time-limit.js';
import { type CounterMetric, defineCounter, defineGauge } from '../observe/metrics.js';
import type { BrokerCore } from './broker-core.js';
import { lagOf, type QueueStats, type Source } from './driver.js';

/**
 * The messaging metrics, the same names on every driver. Counters count what this process
 * did (published, delivered, acked, retried, dead-lettered). Gauges are queue-wide, read
 * from the driver's stats at each scrape for every queue and topic group this process
 * uses: two processes on one queue export the same value.
 */

type Labels = 'driver' | 'destination' | 'group';
const LABELS: readonly Labels[] = ['driver', 'destination', 'group'];

/** A stream and one consumer group of it. */
interface StreamSource {
  readonly kind: 'stream';
  readonly stream: string;
  readonly group: string;
}
type Watched = Source | StreamSource;

/** Brokers and the sources each uses, for the scrape-time gauges. */
const watched = new Map<BrokerCore, Map<string, Watched>>();

/** Adds `source` to the gauges for as long as `core` is open. */
export function watchSource(core: BrokerCore, source: Watched): void {
  let sources = watched.get(core);
  if (sources === undefined) {
    sources = new Map();
    watched.set(core, sources);
  }
  const key =
    source.kind === 'queue'
      ? `q:${source.queue}`
      : source.kind === 'subscription'
        ? `t:${source.topic}/${source.group}`
        : `s:${source.stream}/${source.group}`;
  sources.set(key, source);
  defineGauges();
}

export function labelsOf(driver: string, source: Watched): Record<Labels, string> {
  if (source.kind === 'queue') return { driver, destination: source.queue, group: '' };
  if (source.kind === 'subscription') {
    return { driver, destination: source.topic, group: source.group };
  }
  return { driver, destination: source.stream, group: source.group };
}

/**
 * A stream group has no in-flight, delayed or dead-lettered messages: those stay unset. So
 * does a figure the driver can only count for this process (its scope is `local`, as
 * RabbitMQ's in-flight count): a gauge never shows a partial figure as queue-wide.
 */
type Figures = {
  readonly [K in keyof Omit<QueueStats, 'scope'>]?: number | undefined;
};

interface Reading {
  labels: Record<Labels, string>;
  stats: Figures;
}

async function figuresOf(core: BrokerCore, source: Watched): Promise<Figures> {
  const driver = core.driver;
  if (source.kind !== 'stream') {
    const stats = await driver.stats(source);
    const whole = (figure: Exclude<keyof QueueStats['scope'], 'lag'>) =>
      stats.scope[figure] === 'queue' ? stats[figure] : undefined;
    const { lag, scope } = lagOf(stats);
    return {
      depth: whole('depth'),
      inFlight: whole('inFlight'),
      delayed: whole('delayed'),
      oldestAgeMs: whole('oldestAgeMs'),
      deadLettered: whole('deadLettered'),
      lag: scope === 'queue' ? lag : undefined,
    };
  }
  const [earliest, latest, committed] = await Promise.all([
    driver.resolvePosition(source.stream, 'earliest'),
    driver.resolvePosition(source.stream, 'latest'),
    driver.committedOffset(source.stream, source.group),
  ]);
  return { depth: latest - earliest, lag: latest - Math.max(committed ?? earliest, earliest) };
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
          withTimeout(figuresOf(core, source), STATS_TIMEOUT_MS).then(
            (stats) => ({ labels: labelsOf(core.driver.name, source), stats }),
            // An engine that cannot answer leaves its series out of this scrape.
            () => undefined,
          ),
        );
      }
    }
    return (await Promise.all(jobs)).filter((r): r is Reading => r !== undefined);
  })().finally(() => {
    // A scrape starts every gauge's collect in one turn, so they all share this reading;
    // the next scrape reads afresh.
    reading = undefined;
  });
  return reading;
}

const SCOPE =
  'Queue-wide, from the driver at scrape time, for each queue and topic group this process uses.';

function gauge(name: string, help: string, value: (stats: Figures) => number | undefined) {
  const metric = defineGauge<Labels>({
    name,
    help: `${help} ${SCOPE}`,
    labelNames: LABELS,
    maxSeries: 500,
    collect: async () => {
      const readings = await readAll();
      metric.reset();
      for (const { labels, stats } of readings) {
        const figure = value(stats);
        if (figure !== undefined) metric.set(labels, figure);
      }
    },
  });
  return metric;
}

function defineGauges(): void {
  gauge(
    'sluice_messaging_depth',
    'Messages ready for delivery now (for a stream, entries retained).',
    (s) => s.depth,
  );
  gauge('sluice_messaging_in_flight', 'Messages delivered and not yet settled.', (s) => s.inFlight);
  gauge(
    'sluice_messaging_delayed',
    'Messages waiting for their delay or retry backoff.',
    (s) => s.delayed,
  );
  gauge(
    'sluice_messaging_oldest_age_seconds',
    'Age of the oldest message not yet acknowledged (0 when none).',
    (s) => (s.oldestAgeMs === undefined ? undefined : s.oldestAgeMs / 1000),
  );
  gauge(
    'sluice_messaging_dead_letters',
    'Messages in the dead-letter queue.',
    (s) => s.deadLettered,
  );
  gauge(
    'sluice_messaging_consumer_lag',
    'Messages the queue or consumer group has not finished: ready, delayed and in flight (for a stream group, entries after its committed offset).',
    (s) => s.lag,
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
  publishDuplicates: () =>
    counter(
      'sluice_messaging_publish_duplicates_total',
      'Messages a publish found already stored within the dedupe window, so not stored again.',
    ),
  publishFailures: () =>
    counter(
      'sluice_messaging_publish_failures_total',
      'Messages whose publish rejected (engine down, queue full, aborted): maybe not stored.',
    ),
  delivered: () => counter('sluice_messaging_delivered_total', 'Messages handed to a handler.'),
  acked: () =>
    counter('sluice_messaging_acked_total', 'Messages a handler finished, acknowledged.'),
  retried: () =>
    counter('sluice_messaging_retried_total', 'Failed deliveries released for a retry.'),
  deadLettered: () =>
    counter('sluice_messaging_dead_lettered_total', 'Messages moved to the dead-letter queue.'),
  deadLettersDropped: () =>
    counter(
      'sluice_messaging_dead_letters_dropped_total',
      'Oldest dead letters dropped to keep a dead-letter queue within its cap.',
    ),
};

/**
 * One series of a messaging counter on a hot path (each message published, delivered,
 * acked): the counts add up in a number and reach the counter in one `inc` per wave of
 * microtasks, so the label checks and the counter's lookup are paid once per wave rather
 * than once per message. The flush is queued with the first count after the last one, so
 * whatever observes a counted message (a later microtask or turn: a scrape, an awaited
 * publish) runs after it and sees the count.
 */
export class CounterTally {
  readonly #counter: () => CounterMetric<Labels>;
  readonly #labels: Record<Labels, string>;
  #pending = 0;

  constructor(counter: () => CounterMetric<Labels>, labels: Record<Labels, string>) {
    // Defined now, so that a name already taken fails where the queue or consumer is made.
    counter();
    this.#counter = counter;
    this.#labels = labels;
  }

  add(count = 1): void {
    if (this.#pending === 0) queueMicrotask(this.#flush);
    this.#pending += count;
  }

  readonly #flush = (): void => {
    const count = this.#pending;
    this.#pending = 0;
    this.#counter().inc(this.#labels, count);
  };
}
