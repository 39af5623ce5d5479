import assert from 'node:assert/strict';
import { it } from 'node:test';
import { lagOf } from '../../src/messaging/driver.js';
import type { Message } from '../../src/messaging/index.js';
import { gate, unique, waitFor } from './helpers.js';
import type { SuiteContext } from './suite.js';

interface Order {
  orderId: number;
  sku: string;
}

export function queueBasics(ctx: SuiteContext): void {
  it('delivers a published message with its id, key, headers, payload, attempt and time', async () => {
    const queue = ctx.broker().queue<Order>(unique('orders'));
    const before = Date.now();
    const sent = await queue.publish(
      { orderId: 1, sku: 'tea' },
      { id: 'order-1', key: 'customer-9', headers: { 'x-tenant': 'acme' } },
    );
    assert.deepEqual(sent, { id: 'order-1', duplicate: false });
    const received: Message<Order>[] = [];
    queue.consume((m) => {
      received.push(m);
    });
    await waitFor('the delivery', () => received.length === 1);
    const m = received[0]!;
    assert.equal(m.id, 'order-1');
    assert.equal(m.key, 'customer-9');
    assert.equal(m.headers['x-tenant'], 'acme');
    assert.deepEqual(m.payload, { orderId: 1, sku: 'tea' });
    assert.equal(m.attempt, 1);
    assert.equal(m.source, queue.name);
    assert.ok(m.publishedAt.getTime() >= before - 1 && m.publishedAt.getTime() <= Date.now());
  });

  it('generates distinct ids when the producer gives none', async () => {
    const queue = ctx.broker().queue<number>(unique('ids'));
    const results = await queue.publishBatch([{ payload: 1 }, { payload: 2 }, { payload: 3 }]);
    assert.equal(new Set(results.map((r) => r.id)).size, 3);
    assert.ok(results.every((r) => !r.duplicate));
  });

  it('delivers a batch in publish order to a single consumer', async () => {
    const queue = ctx.broker().queue<number>(unique('fifo'));
    const n = 50;
    await queue.publishBatch(Array.from({ length: n }, (_, i) => ({ payload: i })));
    const seen: number[] = [];
    queue.consume((m) => {
      seen.push(m.payload);
    });
    await waitFor('all messages', () => seen.length === n);
    assert.deepEqual(
      seen,
      Array.from({ length: n }, (_, i) => i),
    );
  });

  it('gives each message to exactly one of several competing consumers', async () => {
    const broker = ctx.broker();
    const queue = broker.queue<number>(unique('work'));
    const n = 300;
    const byConsumer: number[][] = [[], [], []];
    for (const seen of byConsumer) {
      queue.consume(
        async (m) => {
          seen.push(m.payload);
          await new Promise((r) => setImmediate(r));
        },
        { prefetch: 8, concurrency: 4 },
      );
    }
    await queue.publishBatch(Array.from({ length: n }, (_, i) => ({ payload: i })));
    await waitFor('all messages', () => byConsumer.flat().length >= n);
    const all = byConsumer.flat().sort((a, b) => a - b);
    assert.deepEqual(
      all,
      Array.from({ length: n }, (_, i) => i),
    );
    await waitFor('acks', async () => (await queue.stats()).inFlight === 0);
    const stats = await queue.stats();
    assert.equal(stats.depth + stats.inFlight + stats.delayed, 0);
  });

  it('wakes an idle consumer when a message is published later', async () => {
    const queue = ctx.broker().queue<string>(unique('idle'));
    const seen: string[] = [];
    queue.consume(
      (m) => {
        seen.push(m.payload);
      },
      { pollInterval: 60_000 },
    );
    await waitFor('the consumer to start', async () => (await queue.stats()).depth === 0);
    await new Promise((r) => setTimeout(r, 20));
    await queue.publish('late');
    await waitFor('a wake-up without polling', () => seen.length === 1);
    assert.deepEqual(seen, ['late']);
  });

  it('keeps no more than `prefetch` messages and `concurrency` handlers at once', async () => {
    const queue = ctx.broker().queue<number>(unique('bounded'));
    await queue.publishBatch(Array.from({ length: 40 }, (_, i) => ({ payload: i })));
    const hold = gate();
    let running = 0;
    let maxRunning = 0;
    const consumer = queue.consume(
      async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await hold.promise;
        running--;
      },
      { prefetch: 6, concurrency: 2 },
    );
    await waitFor('the prefetch to fill', () => consumer.active === 2 && consumer.buffered === 4);
    const stats = await queue.stats();
    assert.equal(stats.inFlight, 6);
    assert.equal(stats.depth, 34);
    hold.open();
    await waitFor('the queue to empty', async () => {
      const s = await queue.stats();
      return s.depth + s.inFlight === 0;
    });
    assert.equal(maxRunning, 2);
  });

  it('reports depth, delayed, in-flight, oldest age and dead letters in stats()', async () => {
    const queue = ctx.broker().queue<string>(unique('stats'));
    const { scope, lag, ...empty } = await queue.stats();
    assert.deepEqual(empty, { depth: 0, inFlight: 0, delayed: 0, oldestAgeMs: 0, deadLettered: 0 });
    // Each figure says whether it counts the whole queue or only this driver's share.
    const figures = lag === undefined ? Object.keys(empty) : [...Object.keys(empty), 'lag'];
    assert.deepEqual(Object.keys(scope).sort(), figures.sort());
    for (const value of Object.values(scope)) assert.ok(value === 'queue' || value === 'local');
    assert.equal(lagOf(await queue.stats()).lag, 0);
    await queue.publishBatch([{ payload: 'a' }, { payload: 'b' }]);
    const stats = await queue.stats();
    assert.equal(stats.depth, 2);
    assert.equal(lagOf(stats).lag, 2);
    assert.ok(stats.oldestAgeMs >= 0);
  });
}
