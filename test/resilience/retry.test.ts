import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import type { RetryEvent, RetryGiveUpEvent } from '../../src/core/diagnostics.js';
import { isAbortedError, isSluiceError, SluiceError } from '../../src/core/errors.js';
import {
  constantBackoff,
  exponentialBackoff,
  retry,
  retryBudget,
} from '../../src/resilience/index.js';
import { flush, state } from './support.js';

describe('retry', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'] }));
  afterEach(() => mock.timers.reset());

  it('retries until the work succeeds, numbering the attempts', async () => {
    const seen: number[] = [];
    const policy = retry({ maxAttempts: 3, backoff: constantBackoff(0) });
    const result = policy.execute(({ attempt }) => {
      seen.push(attempt);
      if (attempt < 3) throw new Error(`fail ${attempt}`);
      return 'ok';
    });
    await flush();
    mock.timers.tick(0);
    await flush();
    mock.timers.tick(0);
    assert.equal(await result, 'ok');
    assert.deepEqual(seen, [1, 2, 3]);
  });

  it('gives up after maxAttempts with the last error', async () => {
    let calls = 0;
    const policy = retry({ maxAttempts: 2, backoff: constantBackoff(10) });
    const result = policy.execute(() => Promise.reject(new Error(`fail ${++calls}`)));
    await flush();
    mock.timers.tick(10);
    await assert.rejects(result, /fail 2/);
    assert.equal(calls, 2);
  });

  it('waits the backoff between attempts', async () => {
    let calls = 0;
    const backoff = exponentialBackoff({ initialDelay: 100, jitter: 'none' });
    const result = retry({ maxAttempts: 3, backoff }).execute(async () => {
      if (++calls < 3) throw new Error('again');
      return calls;
    });
    await flush();
    assert.equal(calls, 1);
    mock.timers.tick(99);
    await flush();
    assert.equal(calls, 1);
    mock.timers.tick(1);
    await flush();
    assert.equal(calls, 2);
    mock.timers.tick(199);
    await flush();
    assert.equal(calls, 2);
    mock.timers.tick(1);
    assert.equal(await result, 3);
  });

  it('does not retry errors the predicate refuses', async () => {
    let calls = 0;
    const policy = retry({
      maxAttempts: 5,
      backoff: constantBackoff(0),
      retryable: (e) => !(e instanceof TypeError),
    });
    await assert.rejects(
      policy.execute(() => {
        calls++;
        throw new TypeError('bad input');
      }),
      TypeError,
    );
    assert.equal(calls, 1);
  });

  it('waits at least the retryAfter hint an error carries', async () => {
    let calls = 0;
    const result = retry({ maxAttempts: 2, backoff: constantBackoff(10) }).execute(() => {
      if (++calls === 1)
        throw new SluiceError('SLUICE_RATE_LIMITED', 'slow down', { retryAfter: 500 });
      return 'done';
    });
    await flush();
    mock.timers.tick(499);
    await flush();
    assert.equal(calls, 1);
    mock.timers.tick(1);
    assert.equal(await result, 'done');
  });

  it('stops at once when the signal aborts during the backoff sleep', async () => {
    const controller = new AbortController();
    let calls = 0;
    const result = retry({ maxAttempts: 5, backoff: constantBackoff(60_000) }).execute(
      () => Promise.reject(new Error(`fail ${++calls}`)),
      { signal: controller.signal },
    );
    await flush();
    assert.equal(await state(result), 'pending');
    controller.abort(new Error('caller left'));
    await assert.rejects(
      result,
      (e) => isAbortedError(e) && (e.cause as Error).message === 'caller left',
    );
    mock.timers.tick(60_000);
    await flush();
    assert.equal(calls, 1);
  });

  it('rejects without running the work when the signal is already aborted', async () => {
    let calls = 0;
    await assert.rejects(
      retry().execute(() => ++calls, { signal: AbortSignal.abort() }),
      isAbortedError,
    );
    assert.equal(calls, 0);
  });

  it('publishes each retry and the give-up', async () => {
    const retries: RetryEvent[] = [];
    const giveUps: RetryGiveUpEvent[] = [];
    const onRetry = (m: unknown) => retries.push(m as RetryEvent);
    const onGiveUp = (m: unknown) => giveUps.push(m as RetryGiveUpEvent);
    subscribe('sluice:retry:attempt', onRetry);
    subscribe('sluice:retry:give-up', onGiveUp);
    try {
      const result = retry({ name: 'pay', maxAttempts: 2, backoff: constantBackoff(5) }).execute(
        () => Promise.reject(new Error('x')),
      );
      await flush();
      mock.timers.tick(5);
      await assert.rejects(result);
    } finally {
      unsubscribe('sluice:retry:attempt', onRetry);
      unsubscribe('sluice:retry:give-up', onGiveUp);
    }
    assert.deepEqual(
      retries.map(({ name, attempt, delayMs }) => ({ name, attempt, delayMs })),
      [{ name: 'pay', attempt: 1, delayMs: 5 }],
    );
    assert.deepEqual(giveUps, [{ name: 'pay', attempts: 2, reason: 'attempts' }]);
  });
});

describe('retry budget', () => {
  it('allows retries as a ratio of calls plus a floor, over a sliding window', () => {
    const clock = new ManualClock(0);
    const budget = retryBudget({
      ratio: 0.5,
      minPerSecond: 0,
      windowMs: 1_000,
      buckets: 10,
      clock,
    });
    assert.equal(budget.tryWithdraw(), false);
    for (let i = 0; i < 4; i++) budget.deposit();
    assert.equal(budget.available, 2);
    assert.equal(budget.tryWithdraw(), true);
    assert.equal(budget.tryWithdraw(), true);
    assert.equal(budget.tryWithdraw(), false);
    clock.advance(999);
    assert.equal(budget.tryWithdraw(), false);
    clock.advance(1);
    assert.equal(budget.available, 0, 'the calls and retries of the first bucket expired');
    budget.deposit();
    budget.deposit();
    assert.equal(budget.tryWithdraw(), true);
  });

  it('keeps a floor of retries per second when there are few calls', () => {
    const clock = new ManualClock(0);
    const budget = retryBudget({ ratio: 0, minPerSecond: 2, windowMs: 2_000, clock });
    const granted = Array.from({ length: 6 }, () => budget.tryWithdraw()).filter(Boolean).length;
    assert.equal(granted, 4);
  });

  it('makes a retry policy give up with RetryBudgetExhaustedError once spent', async () => {
    const clock = new ManualClock(0);
    const budget = retryBudget({ ratio: 0, minPerSecond: 1, windowMs: 1_000, clock });
    const policy = retry({ maxAttempts: 3, backoff: constantBackoff(0), budget });
    let calls = 0;
    const work = () => {
      calls++;
      throw new Error('down');
    };
    const exhausted = (e: unknown) =>
      isSluiceError(e, 'SLUICE_RETRY_BUDGET_EXHAUSTED') && (e.cause as Error).message === 'down';
    await assert.rejects(policy.execute(work), exhausted);
    assert.equal(calls, 2, 'the floor allowed one retry in the window');
    const other = retry({ maxAttempts: 3, backoff: constantBackoff(0), budget });
    await assert.rejects(other.execute(work), exhausted);
    assert.equal(calls, 3, 'a policy sharing the budget finds it spent');
  });
});
