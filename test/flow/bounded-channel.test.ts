import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, test } from 'node:test';
import type { ChannelOverflowEvent } from '../../src/core/diagnostics.js';
import { isSluiceError } from '../../src/core/errors.js';
import { boundedChannel } from '../../src/flow/index.js';

/** Lets every settled promise run its callbacks. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

function track(promise: Promise<unknown>): { state: string; error?: unknown } {
  const result: { state: string; error?: unknown } = { state: 'pending' };
  promise.then(
    () => {
      result.state = 'resolved';
    },
    (error: unknown) => {
      result.state = 'rejected';
      result.error = error;
    },
  );
  return result;
}

describe('boundedChannel', () => {
  test('delivers in order, to a waiting receiver directly', async () => {
    const ch = boundedChannel<number>({ capacity: 4 });
    const waiting = ch.receive();
    await ch.send(1);
    assert.equal(await waiting, 1);
    assert.equal(ch.size, 0);
    await ch.send(2);
    await ch.send(3);
    assert.equal(ch.size, 2);
    assert.deepEqual([await ch.receive(), await ch.receive()], [2, 3]);
  });

  test("'block' waits for room, and each receive admits one blocked sender in order", async () => {
    const ch = boundedChannel<string>({ capacity: 2 });
    await ch.send('a');
    await ch.send('b');
    assert.equal(ch.trySend('x'), false);
    const c = track(ch.send('c'));
    const d = track(ch.send('d'));
    await settle();
    assert.equal(c.state, 'pending');
    assert.equal(ch.waitingSenders, 2);
    assert.equal(await ch.receive(), 'a');
    await settle();
    assert.deepEqual([c.state, d.state], ['resolved', 'pending']);
    assert.equal(ch.size, 2);
    assert.deepEqual([await ch.receive(), await ch.receive(), await ch.receive()], ['b', 'c', 'd']);
    await settle();
    assert.equal(d.state, 'resolved');
  });

  test("'block' bounds the waiting senders too", async () => {
    const ch = boundedChannel<number>({ capacity: 1, maxWaitingSenders: 1 });
    await ch.send(1);
    const waiting = track(ch.send(2));
    await assert.rejects(ch.send(3), (e) => isSluiceError(e, 'SLUICE_QUEUE_FULL'));
    await settle();
    assert.equal(waiting.state, 'pending');
    assert.equal(ch.waitingSenders, 1);
  });

  test("'reject' fails a send at once when full and reports the overflow", async () => {
    const events: ChannelOverflowEvent[] = [];
    const listener = (m: unknown) => events.push(m as ChannelOverflowEvent);
    subscribe('sluice:channel:overflow', listener);
    try {
      const ch = boundedChannel<number>({ name: 'rej', capacity: 1, overflow: 'reject' });
      await ch.send(1);
      await assert.rejects(ch.send(2), (e) => isSluiceError(e, 'SLUICE_QUEUE_FULL'));
      assert.equal(ch.trySend(3), false);
      assert.equal(ch.size, 1);
      assert.equal(await ch.receive(), 1);
    } finally {
      unsubscribe('sluice:channel:overflow', listener);
    }
    assert.deepEqual(events, [{ name: 'rej', policy: 'reject' }]);
  });

  test("'drop-oldest' evicts the oldest item and keeps the newest", async () => {
    const dropped: number[] = [];
    const ch = boundedChannel<number>({
      capacity: 3,
      overflow: 'drop-oldest',
      onDrop: (item) => dropped.push(item),
    });
    for (let i = 1; i <= 5; i++) await ch.send(i);
    assert.equal(ch.trySend(6), true);
    assert.deepEqual(dropped, [1, 2, 3]);
    assert.equal(ch.size, 3);
    assert.deepEqual([await ch.receive(), await ch.receive(), await ch.receive()], [4, 5, 6]);
  });

  test('writable flips at the high watermark and back at the low one', async () => {
    const marks: string[] = [];
    const ch = boundedChannel<number>({
      capacity: 10,
      highWatermark: 4,
      lowWatermark: 1,
      onHigh: () => marks.push('high'),
      onLow: () => marks.push('low'),
    });
    for (let i = 0; i < 3; i++) await ch.send(i);
    assert.equal(ch.writable, true);
    await ch.send(3);
    assert.equal(ch.writable, false);
    await ch.send(4);
    await ch.receive();
    await ch.receive();
    await ch.receive();
    assert.equal(ch.writable, false, 'still above the low watermark');
    await ch.receive();
    assert.equal(ch.writable, true);
    assert.deepEqual(marks, ['high', 'low']);
  });

  test('close: pending senders reject, buffered items drain, then receivers end', async () => {
    const ch = boundedChannel<number>({ capacity: 1 });
    await ch.send(1);
    const blocked = ch.send(2);
    ch.close();
    await assert.rejects(blocked, (e) => isSluiceError(e, 'SLUICE_CLOSED'));
    await assert.rejects(ch.send(3), (e) => isSluiceError(e, 'SLUICE_CLOSED'));
    assert.throws(
      () => ch.trySend(3),
      (e) => isSluiceError(e, 'SLUICE_CLOSED'),
    );
    assert.equal(await ch.receive(), 1);
    await assert.rejects(ch.receive(), (e) => isSluiceError(e, 'SLUICE_CLOSED'));
  });

  test('close ends pending receivers and for-await loops', async () => {
    const ch = boundedChannel<number>({ capacity: 4 });
    const seen: number[] = [];
    const loop = (async () => {
      for await (const item of ch) seen.push(item);
      return 'ended';
    })();
    await ch.send(7);
    await ch.send(8);
    await settle();
    assert.deepEqual(seen, [7, 8]);
    const pending = ch.receive();
    ch.close();
    await assert.rejects(pending, (e) => isSluiceError(e, 'SLUICE_CLOSED'));
    assert.equal(await loop, 'ended');
  });

  test('leaving a for-await loop does not close the channel', async () => {
    const ch = boundedChannel<number>({ capacity: 4 });
    for (const n of [1, 2, 3]) await ch.send(n);
    for await (const item of ch) {
      assert.equal(item, 1);
      break;
    }
    assert.equal(ch.closed, false);
    await ch.send(4);
    assert.deepEqual([await ch.receive(), await ch.receive(), await ch.receive()], [2, 3, 4]);
  });

  test('abort of a blocked send rejects it and its item never arrives', async () => {
    const ch = boundedChannel<string>({ capacity: 1 });
    await ch.send('kept');
    const controller = new AbortController();
    const blocked = ch.send('aborted', { signal: controller.signal });
    const after = track(ch.send('after'));
    controller.abort(new Error('gave up'));
    await assert.rejects(blocked, (e) => {
      assert.ok(isSluiceError(e, 'SLUICE_ABORTED'));
      assert.equal((e.cause as Error).message, 'gave up');
      return true;
    });
    assert.equal(ch.waitingSenders, 1);
    assert.equal(await ch.receive(), 'kept');
    assert.equal(await ch.receive(), 'after');
    assert.equal(after.state, 'resolved');
    const already = AbortSignal.abort();
    await assert.rejects(ch.send('x', { signal: already }), (e) =>
      isSluiceError(e, 'SLUICE_ABORTED'),
    );
    assert.equal(ch.size, 0);
  });

  test('abort of a waiting receive leaves the item for the next receiver', async () => {
    const ch = boundedChannel<number>({ capacity: 1 });
    const controller = new AbortController();
    const aborted = ch.receive({ signal: controller.signal });
    controller.abort();
    await assert.rejects(aborted, (e) => isSluiceError(e, 'SLUICE_ABORTED'));
    await ch.send(5);
    assert.equal(ch.size, 1);
    assert.equal(await ch.receive(), 5);
  });

  test('validates capacity and watermarks', () => {
    const invalid = (e: unknown) => isSluiceError(e, 'SLUICE_INVALID_ARGUMENT');
    assert.throws(() => boundedChannel({ capacity: 0 }), invalid);
    assert.throws(() => boundedChannel({ capacity: 4, highWatermark: 5 }), invalid);
    assert.throws(
      () => boundedChannel({ capacity: 4, highWatermark: 2, lowWatermark: 2 }),
      invalid,
    );
  });
});
