import assert from 'node:assert/strict';
import { it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { isSluiceError } from '../../src/core/errors.js';
import { gate, unique, waitFor } from './helpers.js';
import type { SuiteContext } from './suite.js';

const unsupported = (e: unknown) => isSluiceError(e, 'SLUICE_UNSUPPORTED');

export function queueFeatures(ctx: SuiteContext): void {
  it('stores nothing new when a producer id repeats inside the dedupe window', async () => {
    const queue = ctx.broker().queue<string>(unique('dedupe'));
    if (!ctx.broker().capabilities.dedupe) {
      await assert.rejects(queue.publish('x', { id: 'same' }), unsupported);
      return;
    }
    assert.deepEqual(await queue.publish('first', { id: 'same' }), {
      id: 'same',
      duplicate: false,
    });
    assert.deepEqual(await queue.publish('second', { id: 'same' }), {
      id: 'same',
      duplicate: true,
    });
    const batch = await queue.publishBatch([
      { payload: 'third', id: 'same' },
      { payload: 'fourth', id: 'other' },
    ]);
    assert.deepEqual(
      batch.map((r) => r.duplicate),
      [true, false],
    );
    const seen: string[] = [];
    queue.consume((m) => {
      seen.push(m.payload);
    });
    await waitFor('two deliveries', () => seen.length === 2);
    await waitFor('acks', async () => (await queue.stats()).inFlight === 0);
    assert.deepEqual(seen.sort(), ['first', 'fourth']);
    // Still a duplicate once the first copy has been consumed and removed.
    assert.equal((await queue.publish('fifth', { id: 'same' })).duplicate, true);
  });

  it('accepts a repeated id again once the dedupe window has passed', async () => {
    const queue = ctx.broker().queue<string>(unique('window'), { dedupeWindow: 150 });
    if (!ctx.broker().capabilities.dedupe) {
      await assert.rejects(queue.publish('a', { id: 'k' }), unsupported);
      return;
    }
    await queue.publish('a', { id: 'k' });
    await delay(250);
    assert.equal((await queue.publish('b', { id: 'k' })).duplicate, false);
    assert.equal((await queue.stats()).depth, 2);
  });

  it('holds a delayed message back until its delay has passed', async () => {
    const queue = ctx.broker().queue<string>(unique('delay'));
    if (!ctx.broker().capabilities.delay) {
      await assert.rejects(queue.publish('later', { delay: 100 }), unsupported);
      return;
    }
    const publishedAt = Date.now();
    await queue.publish('later', { delay: 200 });
    await queue.publish('now');
    const stats = await queue.stats();
    assert.equal(stats.delayed, 1);
    assert.equal(stats.depth, 1);
    const seen: [string, number][] = [];
    queue.consume(
      (m) => {
        seen.push([m.payload, Date.now()]);
      },
      { pollInterval: 1000 },
    );
    await waitFor('both messages', () => seen.length === 2);
    assert.deepEqual(
      seen.map(([p]) => p),
      ['now', 'later'],
    );
    assert.ok(seen[1]![1] - publishedAt >= 195, 'the delayed message came early');
  });

  it('keeps one message per key in flight, in publish order, when ordering by key', async () => {
    const queue = ctx.broker().queue<{ key: string; n: number }>(unique('ordered'));
    if (!ctx.broker().capabilities.orderByKey) {
      assert.throws(() => queue.consume(() => {}, { ordering: 'key' }), unsupported);
      return;
    }
    const keys = ['a', 'b', 'c'];
    await queue.publishBatch(
      Array.from({ length: 30 }, (_, i) => {
        const key = keys[i % 3]!;
        return { payload: { key, n: i }, key };
      }),
    );
    const inFlight = new Map<string, number>();
    const order = new Map<string, number[]>();
    let overlap = false;
    let failedOnce = false;
    let done = 0;
    queue.consume(
      async (m) => {
        const { key, n } = m.payload;
        if ((inFlight.get(key) ?? 0) > 0) overlap = true;
        inFlight.set(key, (inFlight.get(key) ?? 0) + 1);
        await delay(1);
        inFlight.set(key, inFlight.get(key)! - 1);
        // A failure must hold the rest of its key back until the retry succeeds.
        if (n === 4 && !failedOnce) {
          failedOnce = true;
          throw new Error('retry me');
        }
        order.set(key, [...(order.get(key) ?? []), n]);
        done++;
      },
      { ordering: 'key', concurrency: 6, prefetch: 12, retry: () => 5 },
    );
    await waitFor('all messages', () => done === 30);
    assert.equal(overlap, false);
    for (const [i, key] of keys.entries()) {
      const expected = Array.from({ length: 10 }, (_, j) => i + j * 3);
      assert.deepEqual(order.get(key), expected, `order of key ${key}`);
    }
  });

  it('rejects a publish to a full queue with overflow "reject", storing nothing', async () => {
    const queue = ctx.broker().queue<number>(unique('full'), { maxLength: 3, overflow: 'reject' });
    await queue.publishBatch([{ payload: 1 }, { payload: 2 }]);
    await assert.rejects(queue.publishBatch([{ payload: 3 }, { payload: 4 }]), (e) =>
      isSluiceError(e, 'SLUICE_QUEUE_FULL'),
    );
    await queue.publish(3);
    await assert.rejects(queue.publish(4), (e) => isSluiceError(e, 'SLUICE_QUEUE_FULL'));
    assert.equal((await queue.stats()).depth, 3);
  });

  it('drops the oldest messages to make room with overflow "drop-oldest"', async () => {
    const name = unique('drop-oldest');
    if (!ctx.broker().capabilities.overflow.includes('drop-oldest')) {
      assert.throws(() => ctx.broker().queue(name, { overflow: 'drop-oldest' }), unsupported);
      return;
    }
    const queue = ctx.broker().queue<number>(name, { maxLength: 3, overflow: 'drop-oldest' });
    for (const n of [1, 2, 3, 4, 5]) await queue.publish(n);
    const seen: number[] = [];
    queue.consume((m) => {
      seen.push(m.payload);
    });
    await waitFor('three messages', () => seen.length === 3);
    assert.deepEqual(seen, [3, 4, 5]);
  });

  it('makes a publish to a full queue wait for room with overflow "block"', async () => {
    const queue = ctx.broker().queue<number>(unique('block'), { maxLength: 2, overflow: 'block' });
    await queue.publishBatch([{ payload: 1 }, { payload: 2 }]);
    let resolved = false;
    const blocked = queue.publish(3).then(() => {
      resolved = true;
    });
    await delay(30);
    assert.equal(resolved, false);
    const release = gate();
    const seen: number[] = [];
    queue.consume(
      async (m) => {
        seen.push(m.payload);
        if (m.payload === 1) await release.promise;
      },
      { prefetch: 1 },
    );
    await waitFor('the first delivery', () => seen.length === 1);
    assert.equal(resolved, false);
    release.open();
    await blocked;
    await waitFor('all three', () => seen.length === 3);
    assert.deepEqual(seen, [1, 2, 3]);
  });

  it('gives up a blocked publish after blockTimeout with SLUICE_QUEUE_FULL', async () => {
    const queue = ctx.broker().queue<number>(unique('block-timeout'), {
      maxLength: 1,
      blockTimeout: 30,
    });
    await queue.publish(1);
    await assert.rejects(queue.publish(2), (e) => isSluiceError(e, 'SLUICE_QUEUE_FULL'));
  });

  it('aborts a blocked publish when its signal aborts', async () => {
    const queue = ctx.broker().queue<number>(unique('block-abort'), { maxLength: 1 });
    await queue.publish(1);
    const controller = new AbortController();
    const blocked = queue.publish(2, { signal: controller.signal });
    controller.abort();
    await assert.rejects(blocked, (e) => isSluiceError(e, 'SLUICE_ABORTED'));
    assert.equal((await queue.stats()).depth, 1);
  });
}
