import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { queueWide } from '../../src/messaging/driver.js';
import { MemoryDriver } from '../../src/messaging/drivers/memory/driver.js';
import { connect } from '../../src/messaging/index.js';
import { bridgeMetrics, metricsRegistry } from '../../src/observe/index.js';
import { circuitBreaker } from '../../src/resilience/index.js';
import { waitFor } from '../conformance/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'obs-metrics-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function sample(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

describe('messaging metrics, the same names on every driver', () => {
  it('exports queue-wide gauges from the SQLite driver stats and this process counters', async () => {
    const broker = await connect({ driver: 'sqlite', url: join(dir, 'q.db') });
    try {
      const queue = broker.queue<number>('obs-work');
      await queue.publishBatch([{ payload: 1 }, { payload: 2 }, { payload: 3 }]);
      let text = await metricsRegistry().metrics();
      const queueLabels = 'driver="sqlite",destination="obs-work",group=""';
      assert.equal(sample(text, 'sluice_messaging_depth', queueLabels), 3);
      assert.equal(sample(text, 'sluice_messaging_consumer_lag', queueLabels), 3);
      assert.ok((sample(text, 'sluice_messaging_oldest_age_seconds', queueLabels) ?? -1) >= 0);
      assert.equal(sample(text, 'sluice_messaging_published_total', queueLabels), 3);

      let handled = 0;
      const consumer = queue.consume(
        (m) => {
          handled++;
          if (m.payload === 3) throw new Error('poison');
        },
        { maxAttempts: 2, retry: () => 1 },
      );
      await waitFor('the dead letter', async () => (await queue.stats()).deadLettered === 1);
      await consumer.stop();
      text = await metricsRegistry().metrics();
      assert.equal(handled, 4);
      assert.equal(sample(text, 'sluice_messaging_delivered_total', queueLabels), 4);
      assert.equal(sample(text, 'sluice_messaging_acked_total', queueLabels), 2);
      assert.equal(sample(text, 'sluice_messaging_retried_total', queueLabels), 1);
      assert.equal(sample(text, 'sluice_messaging_dead_lettered_total', queueLabels), 1);
      assert.equal(sample(text, 'sluice_messaging_dead_letters', queueLabels), 1);
      assert.equal(sample(text, 'sluice_messaging_depth', queueLabels), 0);
      assert.match(
        text,
        /# HELP sluice_messaging_depth .*Queue-wide, from the driver at scrape time/,
      );

      const topic = broker.topic<string>('obs-events');
      const subscription = await topic.subscribe(
        'billing',
        () => {
          throw new Error('not yet');
        },
        { maxAttempts: 100, retry: () => 60_000 },
      );
      await topic.publish('e');
      await waitFor('the retry', async () => (await topic.stats('billing')).delayed === 1);
      text = await metricsRegistry().metrics();
      const groupLabels = 'driver="sqlite",destination="obs-events",group="billing"';
      assert.equal(sample(text, 'sluice_messaging_consumer_lag', groupLabels), 1);
      assert.equal(sample(text, 'sluice_messaging_delayed', groupLabels), 1);
      await subscription.stop();

      const stream = broker.stream<number>('obs-log');
      await stream.appendBatch([{ payload: 1 }, { payload: 2 }, { payload: 3 }]);
      const group = stream.group('audit');
      await group.commit((await group.read({ limit: 1 }))[0]!.offset + 1);
      text = await metricsRegistry().metrics();
      const streamLabels = 'driver="sqlite",destination="obs-log",group="audit"';
      assert.equal(sample(text, 'sluice_messaging_consumer_lag', streamLabels), 2);
      assert.equal(sample(text, 'sluice_messaging_depth', streamLabels), 3);
      assert.equal(sample(text, 'sluice_messaging_in_flight', streamLabels), undefined);
    } finally {
      await broker.close();
    }
    const closed = await metricsRegistry().metrics();
    assert.equal(
      sample(closed, 'sluice_messaging_depth', 'driver="sqlite",destination="obs-work",group=""'),
      undefined,
      'a closed broker leaves the gauges',
    );
  });
});

describe('publish outcomes', () => {
  it('counts duplicates and failed publishes apart from the messages stored', async () => {
    const broker = await connect({ driver: new MemoryDriver() });
    try {
      const queue = broker.queue<number>('obs-outcomes', { maxLength: 2, overflow: 'reject' });
      await queue.publish(1, { id: 'a' });
      await queue.publish(1, { id: 'a' });
      await queue.publish(2, { id: 'b' });
      await assert.rejects(queue.publishBatch([{ payload: 3 }, { payload: 4 }]));
      const text = await metricsRegistry().metrics();
      const labels = 'driver="memory",destination="obs-outcomes",group=""';
      assert.equal(sample(text, 'sluice_messaging_published_total', labels), 2);
      assert.equal(sample(text, 'sluice_messaging_publish_duplicates_total', labels), 1);
      assert.equal(sample(text, 'sluice_messaging_publish_failures_total', labels), 2);
      assert.equal((await queue.stats()).depth, 2, 'the failed batch stored nothing');
    } finally {
      await broker.close();
    }
  });
});

describe('messaging counters on the hot path', () => {
  it('count every message of a burst by the time the burst has settled, and follow a cleared registry', async () => {
    const broker = await connect({ driver: 'memory' });
    const labels = 'driver="memory",destination="obs-burst",group=""';
    const count = async (name: string) => sample(await metricsRegistry().metrics(), name, labels);
    try {
      const queue = broker.queue<number>('obs-burst');
      await Promise.all(Array.from({ length: 50 }, (_, i) => queue.publish(i)));
      assert.equal(await count('sluice_messaging_published_total'), 50);
      let handled = 0;
      const consumer = queue.consume(() => {
        handled++;
      });
      await waitFor('every message handled', () => handled === 50);
      await consumer.stop();
      assert.equal(await count('sluice_messaging_delivered_total'), 50);
      assert.equal(await count('sluice_messaging_acked_total'), 50);

      // The counters are looked up again when the counts land: a cleared registry gets them back.
      metricsRegistry().clear();
      await queue.publish(51);
      assert.equal(await count('sluice_messaging_published_total'), 1);
    } finally {
      await broker.close();
    }
  });
});

describe('messaging gauges and the scope of driver stats', () => {
  it('leaves unset a figure the driver counts only for this process', async () => {
    // A memory driver that says, as RabbitMQ's does, its in-flight and delayed counts and
    // the oldest age are this process's only.
    const driver = new MemoryDriver();
    const stats = driver.stats.bind(driver);
    driver.stats = async (source) => ({
      ...(await stats(source)),
      scope: { ...queueWide, inFlight: 'local', delayed: 'local', oldestAgeMs: 'local' },
    });
    const broker = await connect({ driver });
    try {
      await broker.queue<number>('obs-local').publishBatch([{ payload: 1 }, { payload: 2 }]);
      const text = await metricsRegistry().metrics();
      const labels = 'driver="memory",destination="obs-local",group=""';
      assert.equal(sample(text, 'sluice_messaging_depth', labels), 2);
      assert.equal(sample(text, 'sluice_messaging_dead_letters', labels), 0);
      assert.equal(sample(text, 'sluice_messaging_in_flight', labels), undefined);
      assert.equal(sample(text, 'sluice_messaging_delayed', labels), undefined);
      assert.equal(sample(text, 'sluice_messaging_oldest_age_seconds', labels), undefined);
      assert.equal(sample(text, 'sluice_messaging_consumer_lag', labels), undefined);
    } finally {
      await broker.close();
    }
  });

  it('exports the lag a driver counts whole though not each part, and only when whole', async () => {
    // As NATS: the engine counts every unfinished message, not which are delayed elsewhere.
    const driver = new MemoryDriver();
    const stats = driver.stats.bind(driver);
    let lagScope: 'queue' | 'local' = 'queue';
    driver.stats = async (source) => ({
      ...(await stats(source)),
      lag: 7,
      scope: { ...queueWide, delayed: 'local', lag: lagScope },
    });
    const broker = await connect({ driver });
    try {
      await broker.queue<number>('obs-whole-lag').publish(1);
      const labels = 'driver="memory",destination="obs-whole-lag",group=""';
      let text = await metricsRegistry().metrics();
      assert.equal(sample(text, 'sluice_messaging_consumer_lag', labels), 7);
      assert.equal(sample(text, 'sluice_messaging_delayed', labels), undefined);
      lagScope = 'local';
      text = await metricsRegistry().metrics();
      assert.equal(sample(text, 'sluice_messaging_consumer_lag', labels), undefined);
      assert.equal(sample(text, 'sluice_messaging_depth', labels), 1);
    } finally {
      await broker.close();
    }
  });
});

describe('breaker state', () => {
  it('is exported from the breaker creation, before any state change', async () => {
    const registry = new Registry();
    const breaker = circuitBreaker({ name: 'obs-fresh' });
    const stop = bridgeMetrics(registry);
    try {
      const text = await registry.metrics();
      assert.equal(sample(text, 'sluice_breaker_state', 'name="obs-fresh",state="closed"'), 1);
      assert.equal(sample(text, 'sluice_breaker_state', 'name="obs-fresh",state="open"'), 0);
      assert.equal(breaker.state, 'closed');
    } finally {
      stop();
    }
  });
});
