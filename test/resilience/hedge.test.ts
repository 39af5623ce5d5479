import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { systemClock } from '../../src/core/clock.js';
import type { HedgeEvent } from '../../src/core/diagnostics.js';
import { isAbortedError } from '../../src/core/errors.js';
import { DeadlineScheduler } from '../../src/core/timers.js';
import { hedge, type PolicyContext } from '../../src/resilience/index.js';
import { flush } from './support.js';

describe('hedge', () => {
  let scheduler: DeadlineScheduler;
  beforeEach(() => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    scheduler = new DeadlineScheduler({ clock: systemClock, resolutionMs: 1 });
  });
  afterEach(() => mock.timers.reset());

  function attempts() {
    const signals: AbortSignal[] = [];
    const finish: ((value: string) => void)[] = [];
    const fail: ((error: Error) => void)[] = [];
    const work = (context: PolicyContext) =>
      new Promise<string>((resolve, reject) => {
        signals.push(context.signal);
        finish.push(resolve);
        fail.push(reject);
      });
    return { signals, finish, fail, work };
  }

  it('does not hedge work that answers within the delay', async () => {
    const { signals, finish, work } = attempts();
    const result = hedge({ delayMs: 50, scheduler }).execute(work);
    finish[0]?.('first');
    assert.equal(await result, 'first');
    mock.timers.tick(100);
    assert.equal(signals.length, 1);
    assert.equal(scheduler.size, 0);
  });

  it('starts a second attempt after the delay; the first success wins and the loser aborts', async () => {
    const events: HedgeEvent[] = [];
    const onEvent = (m: unknown) => events.push(m as HedgeEvent);
    subscribe('sluice:hedge', onEvent);
    try {
      const { signals, finish, work } = attempts();
      const result = hedge({ name: 'search', delayMs: 50, scheduler }).execute(work);
      mock.timers.tick(49);
      assert.equal(signals.length, 1);
      mock.timers.tick(1);
      assert.equal(signals.length, 2);
      finish[1]?.('second');
      assert.equal(await result, 'second');
      assert.equal(signals[0]?.aborted, true);
      assert.ok(isAbortedError(signals[0]?.reason));
      assert.equal(signals[1]?.aborted, false);
    } finally {
      unsubscribe('sluice:hedge', onEvent);
    }
    assert.deepEqual(events, [{ name: 'search', winner: 2, started: 2 }]);
  });

  it('starts no more than maxHedges extra attempts', async () => {
    const { signals, finish, work } = attempts();
    const result = hedge({ delayMs: 10, maxHedges: 2, scheduler }).execute(work);
    for (let ms = 0; ms < 100; ms += 5) mock.timers.tick(5);
    assert.equal(signals.length, 3);
    finish[0]?.('first');
    assert.equal(await result, 'first');
    assert.deepEqual(
      signals.map((s) => s.aborted),
      [false, true, true],
    );
  });

  it('hedges at once when the only running attempt fails, and rejects when all failed', async () => {
    const { signals, fail, work } = attempts();
    const result = hedge({ delayMs: 1_000, scheduler }).execute(work);
    fail[0]?.(new Error('one'));
    await flush();
    assert.equal(signals.length, 2);
    fail[1]?.(new Error('two'));
    await assert.rejects(result, /two/);
  });

  it("aborts the attempt and starts no hedge when the caller's signal aborts", async () => {
    const { signals, work } = attempts();
    const controller = new AbortController();
    const result = hedge({ delayMs: 10, scheduler }).execute(
      (context) =>
        new Promise((resolve, reject) => {
          context.signal.addEventListener('abort', () => reject(context.signal.reason));
          work(context).then(resolve, reject);
        }),
      { signal: controller.signal },
    );
    controller.abort(new Error('gone'));
    await assert.rejects(result, /gone/);
    for (let i = 0; i < 20; i++) mock.timers.tick(1);
    assert.equal(signals.length, 1);
    assert.equal(signals[0]?.aborted, true);
  });
});
