import assert from 'node:assert/strict';
import { it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { isSluiceError } from '../../src/core/errors.js';
import { unique, waitFor } from './helpers.js';
import type { SuiteContext } from './suite.js';

export function streams(ctx: SuiteContext): void {
  it('appends with increasing offsets and reads from an offset, the ends or a time', async () => {
    const name = unique('audit');
    if (!ctx.broker().capabilities.streams) {
      assert.throws(
        () => ctx.broker().stream(name),
        (e) => isSluiceError(e, 'SLUICE_UNSUPPORTED'),
      );
      return;
    }
    const stream = ctx.broker().stream<string>(name);
    assert.deepEqual(await stream.read(), []);
    const first = await stream.appendBatch([{ payload: 'a' }, { payload: 'b', key: 'k' }]);
    assert.equal(first[1], first[0]! + 1);
    await delay(15);
    const middle = new Date();
    await delay(15);
    const [c] = await stream.appendBatch([{ payload: 'c', id: 'c-id', headers: { h: '1' } }]);
    assert.equal(c, first[1]! + 1);

    const all = await stream.read({ from: 'earliest' });
    assert.deepEqual(
      all.map((e) => e.payload),
      ['a', 'b', 'c'],
    );
    assert.deepEqual(
      all.map((e) => e.offset),
      [first[0], first[1], c],
    );
    assert.equal(all[1]!.key, 'k');
    assert.equal(all[2]!.id, 'c-id');
    assert.equal(all[2]!.headers.h, '1');
    assert.deepEqual(
      (await stream.read({ from: first[1]!, limit: 1 })).map((e) => e.payload),
      ['b'],
    );
    assert.deepEqual(await stream.read({ from: 'latest' }), []);
    assert.equal(await stream.position('latest'), c! + 1);
    if (ctx.broker().capabilities.streamReadFromTime) {
      assert.deepEqual(
        (await stream.read({ from: middle })).map((e) => e.payload),
        ['c'],
      );
    } else {
      await assert.rejects(stream.read({ from: middle }), (e) =>
        isSluiceError(e, 'SLUICE_UNSUPPORTED'),
      );
    }
  });

  it("remembers each consumer group's committed offset", async () => {
    const name = unique('ledger');
    if (!ctx.broker().capabilities.streams) return;
    const stream = ctx.broker().stream<number>(name);
    await stream.appendBatch([1, 2, 3, 4].map((payload) => ({ payload })));
    const billing = stream.group('billing');
    assert.equal(await billing.committed(), undefined);
    const page = await billing.read({ limit: 2 });
    assert.deepEqual(
      page.map((e) => e.payload),
      [1, 2],
    );
    await billing.commit(page[1]!.offset + 1);
    assert.deepEqual(
      (await billing.read()).map((e) => e.payload),
      [3, 4],
    );
    assert.deepEqual(
      (await stream.group('other').read()).map((e) => e.payload),
      [1, 2, 3, 4],
    );
    const again = await ctx.broker().stream<number>(name).group('billing').committed();
    assert.equal(again, page[1]!.offset + 1);
  });

  it('applies retention by count, age and bytes, keeping offsets stable', async () => {
    const caps = ctx.broker().capabilities;
    if (!caps.streams) return;
    const byCount = unique('by-count');
    if (!caps.streamRetention.includes('count')) {
      assert.throws(
        () => ctx.broker().stream(byCount, { maxCount: 2 }),
        (e) => isSluiceError(e, 'SLUICE_UNSUPPORTED'),
      );
    } else {
      const s = ctx.broker().stream<number>(byCount, { maxCount: 2 });
      const offsets = await s.appendBatch([1, 2, 3, 4, 5].map((payload) => ({ payload })));
      const kept = await s.read();
      assert.deepEqual(
        kept.map((e) => e.payload),
        [4, 5],
      );
      assert.deepEqual(
        kept.map((e) => e.offset),
        offsets.slice(3),
      );
    }
    if (caps.streamRetention.includes('age')) {
      const s = ctx.broker().stream<number>(unique('by-age'), { maxAge: 30 });
      await s.append(1);
      await delay(60);
      await s.append(2);
      assert.deepEqual(
        (await s.read()).map((e) => e.payload),
        [2],
      );
    }
    if (caps.streamRetention.includes('bytes')) {
      const s = ctx.broker().stream<string>(unique('by-bytes'), { maxBytes: 500 });
      for (let i = 0; i < 10; i++) await s.append('x'.repeat(100));
      const kept = await s.read();
      assert.ok(kept.length >= 1 && kept.length < 10, `kept ${kept.length}`);
      assert.equal(kept.at(-1)!.offset, (await s.position('latest')) - 1);
    }
  });

  it('tails a stream, yielding entries appended after it started', async () => {
    const name = unique('tail');
    if (!ctx.broker().capabilities.streams) return;
    const stream = ctx.broker().stream<string>(name);
    await stream.append('old');
    const controller = new AbortController();
    const seen: string[] = [];
    const reading = (async () => {
      for await (const entry of stream.tail({ from: 'latest', signal: controller.signal })) {
        seen.push(entry.payload);
        if (seen.length === 2) controller.abort();
      }
    })();
    await delay(20);
    await stream.append('new-1');
    await stream.append('new-2');
    await waitFor('the tail', () => seen.length === 2);
    await reading;
    assert.deepEqual(seen, ['new-1', 'new-2']);
  });

  it('lets a consumer group consume a stream in order, committing as it goes and resuming after it', async () => {
    if (!ctx.broker().capabilities.streams) return;
    const stream = ctx.broker().stream<string>(unique('feed'));
    await stream.appendBatch([{ payload: 'a' }, { payload: 'b' }, { payload: 'c' }]);
    const seen: string[] = [];
    const consumer = stream.group('billing').consume((entry) => {
      seen.push(entry.payload);
    });
    await waitFor('the entries appended before it started', () => seen.length === 3);
    // Appended while it waits: woken by the append, not only by its poll.
    const last = await stream.append('d');
    await waitFor('the entry appended while it waited', () => seen.length === 4);
    await consumer.stop();
    assert.deepEqual(seen, ['a', 'b', 'c', 'd']);
    assert.equal(consumer.failure, undefined);
    assert.equal(await stream.group('billing').committed(), last + 1);

    await stream.append('e');
    const resumed: string[] = [];
    const again = stream.group('billing').consume((entry) => {
      resumed.push(entry.payload);
    });
    const other: string[] = [];
    const audit = stream.group('audit').consume((entry) => {
      other.push(entry.payload);
    });
    const late: string[] = [];
    const tail = stream.group('late').consume((entry) => void late.push(entry.payload), {
      start: 'latest',
    });
    await waitFor('both groups', () => resumed.length === 1 && other.length === 5);
    await Promise.all([again.stop(), audit.stop(), tail.stop()]);
    assert.deepEqual(resumed, ['e'], 'a group resumes after its committed offset');
    assert.deepEqual(other, ['a', 'b', 'c', 'd', 'e'], 'a new group starts at the earliest entry');
    assert.deepEqual(late, [], "start: 'latest' skips what is already there");
  });

  it('retries a failing stream entry, then stops on it with the group offset left there', async () => {
    if (!ctx.broker().capabilities.streams) return;
    const stream = ctx.broker().stream<string>(unique('feed'));
    const [, poison] = await stream.appendBatch([
      { payload: 'a' },
      { payload: 'bad' },
      { payload: 'c' },
    ]);
    const seen: string[] = [];
    let tries = 0;
    const consumer = stream.group('g').consume(
      (entry) => {
        if (entry.payload === 'bad') {
          tries++;
          throw new Error('cannot handle bad');
        }
        seen.push(entry.payload);
      },
      { retry: () => 1, maxAttempts: 3 },
    );
    await consumer.closed;
    assert.equal(tries, 3);
    assert.deepEqual(seen, ['a'], 'nothing after the failing entry ran: order is kept');
    assert.match(String(consumer.failure), /cannot handle bad/);
    assert.equal(
      await stream.group('g').committed(),
      poison,
      'the offset stays on the failing entry',
    );
    assert.throws(
      () => stream.group('g').consume(() => {}, { batch: 0 }),
      (e) => isSluiceError(e, 'SLUICE_INVALID_ARGUMENT'),
    );
    assert.throws(
      () => stream.group('g').consume(() => {}, { start: 'middle' as 'latest' }),
      (e) => isSluiceError(e, 'SLUICE_INVALID_ARGUMENT'),
    );
  });
}
