import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { systemClock } from '../../src/core/clock.js';
import { isAbortedError, isCircuitOpenError, isTimeoutError } from '../../src/core/errors.js';
import { DeadlineScheduler } from '../../src/core/timers.js';
import {
  circuitBreaker,
  constantBackoff,
  fallback,
  type Policy,
  type PolicyContext,
  retry,
  timeout,
  wrap,
} from '../../src/resilience/index.js';
import { flush, state } from './support.js';

/** A policy written outside Sluice, which logs around the work it runs. */
function logging(label: string, log: string[]): Policy {
  return {
    async execute(fn, options) {
      log.push(`${label}>`);
      try {
        return await fn({ signal: options?.signal ?? new AbortController().signal, attempt: 1 });
      } finally {
        log.push(`<${label}`);
      }
    },
  };
}

const never = (context: PolicyContext) =>
  new Promise<never>((_, reject) => {
    context.signal.addEventListener('abort', () => reject(context.signal.reason));
  });

describe('wrap', () => {
  let scheduler: DeadlineScheduler;
  beforeEach(() => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    scheduler = new DeadlineScheduler({ clock: systemClock, resolutionMs: 1 });
  });
  afterEach(() => mock.timers.reset());

  it('runs policies outermost first', async () => {
    const log: string[] = [];
    const policy = wrap(logging('a', log), logging('b', log), logging('c', log));
    assert.equal(
      await policy.execute(() => {
        log.push('work');
        return 1;
      }),
      1,
    );
    assert.deepEqual(log, ['a>', 'b>', 'c>', 'work', '<c', '<b', '<a']);
  });

  it('retry around a breaker: the breaker sees every attempt and stops the retries', async () => {
    let calls = 0;
    const breaker = circuitBreaker({ consecutiveFailures: 2 });
    const policy = wrap(
      retry({
        maxAttempts: 5,
        backoff: constantBackoff(0),
        retryable: (e) => !isCircuitOpenError(e),
      }),
      breaker,
    );
    const error = policy
      .execute(() => Promise.reject(new Error(`down ${++calls}`)))
      .catch((e: unknown) => e);
    for (let i = 0; i < 5; i++) {
      await flush();
      mock.timers.tick(0);
    }
    assert.ok(isCircuitOpenError(await error));
    assert.equal(calls, 2);
    assert.equal(breaker.state, 'open');
  });

  it('a breaker around retry: the breaker sees one failure per call', async () => {
    let calls = 0;
    const breaker = circuitBreaker({ consecutiveFailures: 2 });
    const policy = wrap(breaker, retry({ maxAttempts: 5, backoff: constantBackoff(0) }));
    const error = policy
      .execute(() => Promise.reject(new Error(`down ${++calls}`)))
      .catch((e: unknown) => e);
    for (let i = 0; i < 5; i++) {
      await flush();
      mock.timers.tick(0);
    }
    assert.match(((await error) as Error).message, /down 5/);
    assert.equal(breaker.state, 'closed');
  });

  it('a timeout inside retry times out each attempt on its own', async () => {
    const seen: { attempt: number; signal: AbortSignal }[] = [];
    const policy = wrap(
      retry({ maxAttempts: 2, backoff: constantBackoff(0) }),
      timeout(10, { scheduler }),
    );
    const result = policy.execute((context) => {
      seen.push({ attempt: context.attempt, signal: context.signal });
      return context.attempt === 1 ? never(context) : 'second time lucky';
    });
    for (let i = 0; i < 12; i++) {
      mock.timers.tick(1);
      await flush();
    }
    assert.equal(await result, 'second time lucky');
    assert.deepEqual(
      seen.map((s) => [s.attempt, s.signal.aborted]),
      [
        [1, true],
        [2, false],
      ],
    );
  });

  it('a timeout around retry cuts the backoff sleep short', async () => {
    let calls = 0;
    const policy = wrap(
      timeout(100, { scheduler }),
      retry({ maxAttempts: 3, backoff: constantBackoff(1_000) }),
    );
    const result = policy.execute(() => Promise.reject(new Error(`down ${++calls}`)));
    for (let i = 0; i < 100; i++) mock.timers.tick(1);
    await assert.rejects(result, isTimeoutError);
    mock.timers.tick(2_000);
    await flush();
    assert.equal(calls, 1);
  });

  it("carries the caller's abort through every layer to the work", async () => {
    const controller = new AbortController();
    const log: string[] = [];
    let signal: AbortSignal | undefined;
    let calls = 0;
    const policy = wrap(
      retry({ maxAttempts: 3, backoff: constantBackoff(0) }),
      circuitBreaker(),
      logging('foreign', log),
      timeout(1_000, { scheduler }),
    );
    const result = policy.execute(
      (context) => {
        calls++;
        signal = context.signal;
        return never(context);
      },
      { signal: controller.signal },
    );
    await flush();
    assert.equal(await state(result), 'pending');
    controller.abort(new Error('user went away'));
    await assert.rejects(result, /user went away/);
    assert.equal(signal?.aborted, true);
    assert.equal(calls, 1, 'an aborted call is not retried');
    assert.deepEqual(log, ['foreign>', '<foreign']);
  });

  it('rejects at once when the signal is already aborted', async () => {
    let calls = 0;
    const policy = wrap(retry(), circuitBreaker(), timeout(1_000, { scheduler }));
    await assert.rejects(
      policy.execute(() => ++calls, { signal: AbortSignal.abort() }),
      isAbortedError,
    );
    assert.equal(calls, 0);
  });

  it('takes a fallback as the outermost policy', async () => {
    const policy = wrap(fallback('stale'), timeout(10, { scheduler }));
    const result = policy.execute(never);
    for (let i = 0; i < 10; i++) mock.timers.tick(1);
    const value: string = await result;
    assert.equal(value, 'stale');
  });

  it("lets the layers inside a foreign policy see that policy's signal", async () => {
    const own = new AbortController();
    const foreign: Policy = {
      execute: (fn) => Promise.resolve(fn({ signal: own.signal, attempt: 7 })),
    };
    let seen: PolicyContext | undefined;
    const result = wrap(foreign, timeout(1_000, { scheduler })).execute((context) => {
      seen = context;
      return never(context);
    });
    own.abort(new Error('foreign gave up'));
    await assert.rejects(result, /foreign gave up/);
    assert.equal(seen?.signal.aborted, true);
    assert.equal(seen?.attempt, 7);
  });
});
