import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { systemClock } from '../../src/core/clock.js';
import { isTimeoutError, TimeoutError } from '../../src/core/errors.js';
import { DeadlineScheduler } from '../../src/core/timers.js';
import { timeout } from '../../src/resilience/index.js';
import { flush, state } from './support.js';

describe('timeout', () => {
  let scheduler: DeadlineScheduler;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  beforeEach(() => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    scheduler = new DeadlineScheduler({ clock: systemClock, resolutionMs: 1 });
    unhandled.length = 0;
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(() => {
    process.off('unhandledRejection', onUnhandled);
    mock.timers.reset();
  });

  it('resolves with the work when it finishes in time and leaves no deadline behind', async () => {
    const policy = timeout(100, { scheduler });
    assert.equal(await policy.execute(async () => 'fast'), 'fast');
    assert.equal(await policy.execute(() => 'sync'), 'sync');
    assert.equal(scheduler.size, 0);
  });

  it('rejects with TimeoutError and aborts the signal the work was given', async () => {
    let signal: AbortSignal | undefined;
    const result = timeout(100, { scheduler }).execute(
      (context) =>
        new Promise<string>(() => {
          signal = context.signal;
        }),
    );
    mock.timers.tick(99);
    assert.equal(await state(result), 'pending');
    assert.equal(signal?.aborted, false);
    mock.timers.tick(1);
    await assert.rejects(
      result,
      (e) => isTimeoutError(e) && e instanceof TimeoutError && e.timeoutMs === 100,
    );
    assert.equal(signal?.aborted, true);
    assert.ok(isTimeoutError(signal?.reason));
  });

  it('aborts a signal the work reads only after the deadline', async () => {
    let read: (() => AbortSignal) | undefined;
    const result = timeout(10, { scheduler }).execute(
      (context) =>
        new Promise<never>(() => {
          read = () => context.signal;
        }),
    );
    mock.timers.tick(10);
    await assert.rejects(result, isTimeoutError);
    assert.equal(read?.().aborted, true);
  });

  it('handles the rejection of work that fails after it timed out', async () => {
    let rejectLate: ((error: Error) => void) | undefined;
    const result = timeout(10, { scheduler }).execute(
      () =>
        new Promise<never>((_, reject) => {
          rejectLate = reject;
        }),
    );
    mock.timers.tick(10);
    await assert.rejects(result, isTimeoutError);
    rejectLate?.(new Error('late failure'));
    await flush();
    await flush();
    assert.deepEqual(unhandled, []);
  });

  it('passes a synchronous throw through', async () => {
    await assert.rejects(
      timeout(10, { scheduler }).execute(() => {
        throw new Error('sync');
      }),
      /sync/,
    );
    assert.equal(scheduler.size, 0);
  });

  it("aborts the work's signal when the caller's signal aborts", async () => {
    const controller = new AbortController();
    let signal: AbortSignal | undefined;
    const result = timeout(1_000, { scheduler }).execute(
      (context) =>
        new Promise((_, reject) => {
          signal = context.signal;
          signal.addEventListener('abort', () => reject(signal?.reason));
        }),
      { signal: controller.signal },
    );
    controller.abort(new Error('caller left'));
    await assert.rejects(result, /caller left/);
    assert.equal(signal?.aborted, true);
  });

  it('publishes a timeout event', async () => {
    const events: unknown[] = [];
    const onEvent = (m: unknown) => events.push(m);
    subscribe('sluice:timeout', onEvent);
    try {
      const result = timeout(5, { name: 'db', scheduler }).execute(() => new Promise(() => {}));
      mock.timers.tick(5);
      await assert.rejects(result, isTimeoutError);
    } finally {
      unsubscribe('sluice:timeout', onEvent);
    }
    assert.deepEqual(events, [{ name: 'db', timeoutMs: 5 }]);
  });
});
