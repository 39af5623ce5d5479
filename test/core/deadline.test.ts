import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, test } from 'node:test';
import {
  Countdown,
  deadlineSignal,
  isSluiceError,
  isTimeoutError,
  ManualClock,
} from '../../src/core/index.js';

describe('Countdown', () => {
  test('tracks remaining time on the clock it is given', () => {
    const clock = new ManualClock(1000);
    const countdown = Countdown.after(500, { clock });
    assert.equal(countdown.at, 1500);
    assert.equal(countdown.remaining(), 500);
    clock.advance(200);
    assert.equal(countdown.remaining(), 300);
    assert.equal(countdown.expired, false);
    clock.advance(400);
    assert.equal(countdown.remaining(), 0);
    assert.equal(countdown.expired, true);
  });

  test('its signal aborts with a TimeoutError when time is up', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    const countdown = Countdown.after(100);
    const signal = countdown.signal;
    assert.equal(countdown.signal, signal, 'created once');
    t.mock.timers.tick(99);
    assert.equal(signal.aborted, false);
    t.mock.timers.tick(1);
    assert.equal(signal.aborted, true);
    assert.ok(isTimeoutError(signal.reason));
    assert.equal(signal.reason.timeoutMs, 100);
  });

  test('an expired countdown hands out an aborted signal; dispose stops the timer', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    const clock = new ManualClock();
    const expired = Countdown.after(10, { clock });
    clock.advance(10);
    assert.equal(expired.signal.aborted, true);

    const disposed = Countdown.after(10);
    const signal = disposed.signal;
    disposed.dispose();
    t.mock.timers.tick(20);
    assert.equal(signal.aborted, false);
  });

  test('rejects a negative or infinite timeout', () => {
    assert.throws(
      () => Countdown.after(-1),
      (e) => isSluiceError(e, 'SLUICE_INVALID_ARGUMENT'),
    );
    assert.throws(() => Countdown.after(Number.POSITIVE_INFINITY), /finite/);
  });
});

describe('deadlineSignal', () => {
  test('aborts with a TimeoutError after the timeout', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const deadline = deadlineSignal(250);
    t.mock.timers.tick(249);
    assert.equal(deadline.signal.aborted, false);
    t.mock.timers.tick(1);
    assert.ok(isTimeoutError(deadline.signal.reason));
  });

  test('follows its parent, and dispose releases the parent and the timer', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const parent = new AbortController();
    const first = deadlineSignal(250, { signal: parent.signal });
    parent.abort('stop');
    assert.equal(first.signal.reason, 'stop');

    const other = new AbortController();
    const second = deadlineSignal(250, { signal: other.signal });
    second.dispose();
    assert.equal(getEventListeners(other.signal, 'abort').length, 0);
    t.mock.timers.tick(300);
    assert.equal(second.signal.aborted, false);
  });

  test('rejects a bad timeout', () => {
    assert.throws(
      () => deadlineSignal(Number.NaN),
      (e) => isSluiceError(e, 'SLUICE_INVALID_ARGUMENT'),
    );
  });
});
