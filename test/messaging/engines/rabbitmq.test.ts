import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import amqp from 'amqplib';
import { isSluiceError } from '../../../src/core/errors.js';
import { delayBucket } from '../../../src/messaging/drivers/rabbitmq/delay.js';
import { openRabbitDriver } from '../../../src/messaging/drivers/rabbitmq/driver.js';
import { connect } from '../../../src/messaging/index.js';
import { requireEngine } from '../../support/engines.js';
import { dropPrefix, rabbitUrl } from './rabbitmq-support.js';

await requireEngine('rabbitmq');

const prefix = `sluice-test-rmq-${process.pid}-${Date.now().toString(36)}`;
after(() => dropPrefix(prefix));

it('rounds delays up to a bounded grid: never early, at most 25% late', () => {
  const buckets = new Set<number>();
  for (let ms = 1; ms <= 600_000; ms = Math.ceil(ms * 1.07)) {
    const bucket = delayBucket(ms);
    assert.ok(bucket >= ms, `${ms} ms went to the earlier bucket ${bucket}`);
    assert.ok(bucket <= Math.max(10, ms * 1.25) + 1, `${ms} ms went to the late bucket ${bucket}`);
    buckets.add(bucket);
  }
  assert.ok(buckets.size < 60, `${buckets.size} delay queues for delays up to 10 minutes`);
});

it('retries through a TTL queue with the attempt carried across copies', async () => {
  const broker = await connect({ driver: await openRabbitDriver(rabbitUrl, { prefix }) });
  try {
    const queue = broker.queue<string>('retry');
    await queue.publish('x');
    const seen: { attempt: number; at: number }[] = [];
    queue.consume(
      (m) => {
        seen.push({ attempt: m.attempt, at: Date.now() });
        if (m.attempt < 3) throw new Error('again');
      },
      { retry: () => 120, maxAttempts: 5 },
    );
    const deadline = Date.now() + 10_000;
    while (seen.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(
      seen.map((s) => s.attempt),
      [1, 2, 3],
    );
    assert.ok(seen[1]!.at - seen[0]!.at >= 115, 'the retry came before its delay');
  } finally {
    await broker.close({ drainTimeout: 1000 });
  }
});

it('declares streams, per-key ordering and producer de-duplication unsupported', async () => {
  const broker = await connect({ driver: await openRabbitDriver(rabbitUrl, { prefix }) });
  try {
    const unsupported = (e: unknown) => isSluiceError(e, 'SLUICE_UNSUPPORTED');
    assert.throws(() => broker.stream('log'), unsupported);
    const queue = broker.queue<string>('caps');
    assert.throws(() => queue.consume(() => {}, { ordering: 'key' }), unsupported);
    await assert.rejects(queue.publish('x', { id: 'same' }), unsupported);
    assert.equal(
      (await broker.queue<string>('caps', { dedupeWindow: 0 }).publish('x', { id: 'k' })).id,
      'k',
    );
  } finally {
    await broker.close({ drainTimeout: 1000 });
  }
});

it('de-duplicates ids only within one driver when localDedupe is on', async () => {
  const first = await connect({
    driver: await openRabbitDriver(rabbitUrl, { prefix, localDedupe: true }),
  });
  const second = await connect({
    driver: await openRabbitDriver(rabbitUrl, { prefix, localDedupe: true }),
  });
  try {
    const a = first.queue<string>('local-dedupe');
    const b = second.queue<string>('local-dedupe');
    assert.equal((await a.publish('x', { id: 'same' })).duplicate, false);
    assert.equal((await a.publish('x', { id: 'same' })).duplicate, true);
    // Another process (here: another driver) is not seen: RabbitMQ stores its copy.
    assert.equal((await b.publish('x', { id: 'same' })).duplicate, false);
    assert.equal((await a.stats()).depth, 2);
  } finally {
    await first.close({ drainTimeout: 1000 });
    await second.close({ drainTimeout: 1000 });
  }
});

it('reports a publish to a queue deleted behind the driver, then declares it again', async () => {
  const broker = await connect({ driver: await openRabbitDriver(rabbitUrl, { prefix }) });
  try {
    const queue = broker.queue<string>('vanishing');
    await queue.publish('a');
    const admin = await amqp.connect(rabbitUrl);
    await (await admin.createChannel()).deleteQueue(`${prefix}/q/vanishing`);
    await admin.close();
    await assert.rejects(queue.publish('b'), (e) => isSluiceError(e, 'SLUICE_ENGINE_UNAVAILABLE'));
    await queue.publish('c');
    assert.equal((await queue.stats()).depth, 1);
  } finally {
    await broker.close({ drainTimeout: 1000 });
  }
});

it('acks finished messages together without settling one still running before them', async () => {
  const broker = await connect({ driver: await openRabbitDriver(rabbitUrl, { prefix }) });
  const queue = broker.queue<number>('ack-batch');
  let release!: () => void;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const done: number[] = [];
  try {
    await queue.publishBatch([1, 2, 3, 4].map((payload) => ({ payload })));
    // 2 holds the line while 1, 3 and 4 finish and are acked around it.
    const consumer = queue.consume(
      async (m) => {
        if (m.payload === 2) await held;
        done.push(m.payload);
      },
      { prefetch: 4, concurrency: 4 },
    );
    const deadline = Date.now() + 10_000;
    while (done.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual([...done].sort(), [1, 3, 4]);
    // Past its drain timeout 2 is released as a failed attempt: it must still be unsettled.
    await consumer.stop({ drainTimeout: 20 });
    release();
  } finally {
    await broker.close({ drainTimeout: 1000 });
  }
  const again = await connect({ driver: await openRabbitDriver(rabbitUrl, { prefix }) });
  try {
    const seen: [number, number][] = [];
    again.queue<number>('ack-batch').consume((m) => {
      seen.push([m.payload, m.attempt]);
    });
    const deadline = Date.now() + 10_000;
    while (seen.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(seen, [[2, 2]]);
  } finally {
    await again.close({ drainTimeout: 1000 });
  }
});
