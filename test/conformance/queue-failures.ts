import assert from 'node:assert/strict';
import { it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { isSluiceError } from '../../src/core/errors.js';
import { isLeaseLostError, NonRetryableError } from '../../src/messaging/index.js';
import { unique, waitFor } from './helpers.js';
import type { SuiteContext } from './suite.js';

const quickRetry = { retry: () => 1 };

export function queueFailures(ctx: SuiteContext): void {
  it('retries a failing handler with the attempt counted, then acks', async () => {
    const queue = ctx.broker().queue<string>(unique('retry'));
    await queue.publish('flaky');
    const attempts: number[] = [];
    queue.consume((m) => {
      attempts.push(m.attempt);
      if (m.attempt < 3) throw new Error(`fail ${m.attempt}`);
    }, quickRetry);
    await waitFor('three attempts', () => attempts.length === 3);
    await waitFor('the ack', async () => (await queue.stats()).inFlight === 0);
    assert.deepEqual(attempts, [1, 2, 3]);
    const stats = await queue.stats();
    assert.equal(stats.depth + stats.delayed + stats.deadLettered, 0);
  });

  it('waits the backoff before redelivering', async () => {
    const queue = ctx.broker().queue<string>(unique('backoff'));
    await queue.publish('x');
    const delays: number[] = [];
    let failedAt = 0;
    const retriedAt: number[] = [];
    queue.consume(
      (m) => {
        if (m.attempt === 1) {
          failedAt = Date.now();
          throw new Error('once');
        }
        retriedAt.push(Date.now());
      },
      {
        retry: (attempt) => {
          delays.push(attempt);
          return 150;
        },
      },
    );
    await waitFor('the retry', () => retriedAt.length === 1);
    assert.deepEqual(delays, [1]);
    assert.ok(retriedAt[0]! - failedAt >= 140, 'redelivered before its backoff');
  });

  it('dead-letters a poison message after maxAttempts without blocking the rest', async () => {
    const queue = ctx.broker().queue<string>(unique('poison'));
    await queue.publishBatch([
      { payload: 'poison', id: 'p1' },
      ...Array.from({ length: 20 }, (_, i) => ({ payload: `ok-${i}` })),
    ]);
    const handled: string[] = [];
    let poisonAttempts = 0;
    queue.consume(
      (m) => {
        if (m.payload === 'poison') {
          poisonAttempts++;
          throw new TypeError('cannot parse order');
        }
        handled.push(m.payload);
      },
      { ...quickRetry, maxAttempts: 3 },
    );
    await waitFor('the good messages', () => handled.length === 20);
    await waitFor('the dead letter', async () => (await queue.stats()).deadLettered === 1);
    assert.equal(poisonAttempts, 3);
    const [dead, ...others] = await queue.deadLetters.list();
    assert.equal(others.length, 0);
    assert.equal(dead!.id, 'p1');
    assert.equal(dead!.payload, 'poison');
    assert.equal(dead!.attempt, 3);
    assert.match(dead!.error, /cannot parse order/);
  });

  it('dead-letters at once on NonRetryableError or when retryable() says no', async () => {
    const queue = ctx.broker().queue<string>(unique('fatal'));
    await queue.publishBatch([{ payload: 'a' }, { payload: 'b' }]);
    const attempts: string[] = [];
    queue.consume(
      (m) => {
        attempts.push(m.payload);
        if (m.payload === 'a') throw new NonRetryableError('order is malformed');
        throw new RangeError('out of stock');
      },
      { ...quickRetry, retryable: (e) => !(e instanceof RangeError) },
    );
    await waitFor('two dead letters', async () => (await queue.stats()).deadLettered === 2);
    assert.deepEqual(attempts.sort(), ['a', 'b']);
    const errors = new Map((await queue.deadLetters.list()).map((d) => [d.payload, d.error]));
    assert.match(errors.get('a')!, /SLUICE_NON_RETRYABLE: order is malformed/);
    assert.match(errors.get('b')!, /RangeError: out of stock/);
  });

  it('drops instead of dead-lettering when deadLetter is false', async () => {
    const queue = ctx.broker().queue<string>(unique('drop'));
    await queue.publish('x');
    let calls = 0;
    queue.consume(
      () => {
        calls++;
        throw new Error('no');
      },
      { ...quickRetry, maxAttempts: 2, deadLetter: false },
    );
    await waitFor('the message to be dropped', async () => {
      const s = await queue.stats();
      return calls === 2 && s.depth + s.inFlight + s.delayed === 0;
    });
    assert.equal((await queue.stats()).deadLettered, 0);
  });

  it('replays and purges dead letters', async () => {
    const queue = ctx.broker().queue<string>(unique('replay'));
    await queue.publishBatch([
      { payload: 'a', id: 'a' },
      { payload: 'b', id: 'b' },
      { payload: 'c', id: 'c' },
    ]);
    let healthy = false;
    const handled: { id: string; attempt: number }[] = [];
    queue.consume((m) => {
      if (!healthy) throw new NonRetryableError('down');
      handled.push({ id: m.id, attempt: m.attempt });
    }, quickRetry);
    await waitFor('three dead letters', async () => (await queue.stats()).deadLettered === 3);
    healthy = true;
    if (!ctx.broker().capabilities.deadLetterReplay) {
      await assert.rejects(queue.deadLetters.replay(), (e) =>
        isSluiceError(e, 'SLUICE_UNSUPPORTED'),
      );
      return;
    }
    assert.equal(await queue.deadLetters.replay({ ids: ['a'] }), 1);
    await waitFor('the replayed message', () => handled.length === 1);
    assert.deepEqual(handled, [{ id: 'a', attempt: 1 }]);
    assert.equal(await queue.deadLetters.purge({ ids: ['b'] }), 1);
    assert.deepEqual(
      (await queue.deadLetters.list()).map((d) => d.id),
      ['c'],
    );
    assert.equal(await queue.deadLetters.replay(), 1);
    await waitFor('the rest replayed', () => handled.length === 2);
    assert.equal((await queue.stats()).deadLettered, 0);
  });

  it('dead-letters a stored payload that fails the schema at consume time', async () => {
    const name = unique('schema');
    const loose = ctx.broker().queue<unknown>(name);
    await loose.publish({ qty: 'many' });
    const strict = ctx.broker().queue<{ qty: number }>(name, {
      schema: { type: 'object', properties: { qty: { type: 'number' } }, required: ['qty'] },
    });
    let calls = 0;
    strict.consume(() => {
      calls++;
    }, quickRetry);
    await waitFor('the dead letter', async () => (await strict.stats()).deadLettered === 1);
    assert.equal(calls, 0);
    assert.match((await strict.deadLetters.list())[0]!.error, /SLUICE_INVALID_MESSAGE/);
  });

  it("redelivers a crashed consumer's message once its lease expires", async () => {
    const name = unique('crash');
    const queue = ctx.broker().queue<string>(name);
    await queue.publish('job', { id: 'j1' });
    // A consumer that claims and then dies: it talks to the driver directly and never acks.
    const source = { kind: 'queue', queue: name } as const;
    const claimed = await ctx.driver().claim(source, { max: 10, leaseMs: 50, orderByKey: false });
    assert.deepEqual(
      claimed.deliveries.map((d) => [d.id, d.attempt]),
      [['j1', 1]],
    );
    const received: number[] = [];
    queue.consume(
      (m) => {
        received.push(m.attempt);
      },
      { pollInterval: 20 },
    );
    await waitFor('the redelivery', () => received.length === 1);
    assert.deepEqual(received, [2]);
    await waitFor('the ack', async () => (await queue.stats()).inFlight === 0);
    // The dead consumer's receipt is stale: acking or extending it changes nothing.
    await ctx.driver().ack(source, [claimed.deliveries[0]!.receipt]);
    const lost = await ctx.driver().extendLease(source, [claimed.deliveries[0]!.receipt], 1000);
    assert.deepEqual(lost, [claimed.deliveries[0]!.receipt]);
  });

  it('keeps renewing the lease of a handler that runs longer than leaseTimeout', async () => {
    const queue = ctx.broker().queue<string>(unique('long'));
    await queue.publish('slow');
    const attempts: number[] = [];
    let done = 0;
    queue.consume(
      async (m) => {
        attempts.push(m.attempt);
        // Several leases long. A lease far shorter than this machine can stall (100 ms on a
        // starved CI machine) would lapse between renewals, rightly, and fail the test.
        await delay(2500);
        done++;
      },
      { leaseTimeout: 800, concurrency: 2, prefetch: 2, pollInterval: 20 },
    );
    await waitFor('the slow handler', () => done === 1);
    await waitFor('the ack', async () => (await queue.stats()).inFlight === 0);
    assert.deepEqual(attempts, [1]);
  });

  it('extends a lease on request, and says so when the lease was lost to another consumer', async () => {
    const name = unique('extend');
    const queue = ctx.broker().queue<string>(name);
    await queue.publish('x');
    const source = { kind: 'queue', queue: name } as const;
    let outcome: unknown = 'pending';
    let signalReason: unknown;
    queue.consume(
      async (m, { signal }) => {
        await m.extendLease(60_000);
        await m.extendLease(50);
        let stolen = 0;
        while (stolen === 0) {
          stolen = (
            await ctx.driver().claim(source, { max: 1, leaseMs: 60_000, orderByKey: false })
          ).deliveries.length;
          await delay(10);
        }
        try {
          await m.extendLease();
          outcome = 'extended';
        } catch (error) {
          outcome = error;
        }
        signalReason = signal.aborted;
      },
      { leaseTimeout: 60_000, prefetch: 1 },
    );
    await waitFor('the handler', () => outcome !== 'pending');
    assert.ok(isLeaseLostError(outcome), `expected a lease-lost error, got ${String(outcome)}`);
    assert.equal(signalReason, false);
  });
}
