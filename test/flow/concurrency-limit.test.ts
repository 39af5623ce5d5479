import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import type { ConcurrencyLimitEvent } from '../../src/core/diagnostics.js';
import { isSluiceError } from '../../src/core/errors.js';
import {
  aimdLimit,
  type ConcurrencyLimit,
  fixedConcurrencyLimit,
  gradientLimit,
  type LimitToken,
} from '../../src/flow/index.js';

/** Fills the limit, lets `latencyMs` pass, releases every call the same way. */
function round(
  limiter: ConcurrencyLimit,
  clock: ManualClock,
  latencyMs: number,
  outcome: 'success' | 'dropped' = 'success',
): void {
  const tokens: LimitToken[] = [];
  for (let t = limiter.tryAcquire(); t !== undefined; t = limiter.tryAcquire()) tokens.push(t);
  clock.advance(latencyMs);
  for (const t of tokens) t[outcome]();
}

describe('fixedConcurrencyLimit', () => {
  test('admits up to the limit and frees a slot on every kind of release', () => {
    const limiter = fixedConcurrencyLimit(2, { name: 'fixed' });
    const a = limiter.tryAcquire();
    const b = limiter.tryAcquire();
    assert.ok(a && b);
    assert.equal(limiter.tryAcquire(), undefined);
    assert.equal(limiter.inflight, 2);
    a.dropped();
    a.success();
    assert.equal(limiter.inflight, 1, 'releasing twice frees one slot only');
    b.ignore();
    assert.equal(limiter.inflight, 0);
    assert.equal(limiter.limit, 2);
  });

  test('rejects a non-positive limit', () => {
    assert.throws(
      () => fixedConcurrencyLimit(0),
      (e) => isSluiceError(e, 'SLUICE_INVALID_ARGUMENT'),
    );
  });
});

describe('aimdLimit', () => {
  test('grows by one per successful call while the limit is in use', () => {
    const clock = new ManualClock(1_000);
    const limiter = aimdLimit({ initial: 4, max: 10, clock });
    // Samples carry the in-flight count at admission: the first of 4 does not yet show the
    // limit in use; the other three do.
    round(limiter, clock, 10);
    assert.equal(limiter.limit, 7);
    round(limiter, clock, 10);
    assert.equal(limiter.limit, 10, 'stops at max');
  });

  test('backs off multiplicatively on drops and on slow calls, not below min', () => {
    const clock = new ManualClock(1_000);
    const limiter = aimdLimit({ initial: 10, min: 3, backoffRatio: 0.5, slowCallMs: 100, clock });
    const token = limiter.tryAcquire()!;
    token.dropped();
    assert.equal(limiter.limit, 5);
    const slow = limiter.tryAcquire()!;
    clock.advance(101);
    slow.success();
    assert.equal(limiter.limit, 3, 'floor(5 * 0.5) = 2 is clamped to min');
    round(limiter, clock, 1, 'dropped');
    assert.equal(limiter.limit, 3);
  });

  test('does not grow from a mostly idle limiter', () => {
    const clock = new ManualClock(1_000);
    const limiter = aimdLimit({ initial: 10, clock });
    for (let i = 0; i < 20; i++) limiter.tryAcquire()!.success();
    assert.equal(limiter.limit, 10);
  });

  test('ignore() frees the slot without moving the limit', () => {
    const limiter = aimdLimit({ initial: 2, backoffRatio: 0.5 });
    round(limiter, new ManualClock(1_000), 0);
    const before = limiter.limit;
    limiter.tryAcquire()!.ignore();
    assert.equal(limiter.limit, before);
    assert.equal(limiter.inflight, 0);
  });

  test('publishes the new limit when it changes, and only then', () => {
    const events: ConcurrencyLimitEvent[] = [];
    const listener = (m: unknown) => events.push(m as ConcurrencyLimitEvent);
    subscribe('sluice:concurrency:limit', listener);
    try {
      const limiter = aimdLimit({ name: 'aimd', initial: 2, min: 2, backoffRatio: 0.5 });
      const a = limiter.tryAcquire()!;
      const b = limiter.tryAcquire()!;
      a.success();
      b.dropped();
      limiter.tryAcquire()!.dropped();
    } finally {
      unsubscribe('sluice:concurrency:limit', listener);
    }
    assert.deepEqual(events, [
      { name: 'aimd', limit: 3, inflight: 1 },
      { name: 'aimd', limit: 2, inflight: 0 },
    ]);
  });

  test('rejects inconsistent bounds and ratios', () => {
    const invalid = (e: unknown) => isSluiceError(e, 'SLUICE_INVALID_ARGUMENT');
    assert.throws(() => aimdLimit({ min: 10, max: 5 }), invalid);
    assert.throws(() => aimdLimit({ initial: 0 }), invalid);
    assert.throws(() => aimdLimit({ backoffRatio: 1.5 }), invalid);
  });
});

describe('gradientLimit', () => {
  test('grows while latency stays at the no-load RTT, up to max', () => {
    const clock = new ManualClock(1_000);
    const limiter = gradientLimit({ initial: 10, max: 50, clock });
    let previous = limiter.limit;
    for (let i = 0; i < 5; i++) {
      round(limiter, clock, 10);
      assert.ok(limiter.limit >= previous, `round ${i}: ${limiter.limit} < ${previous}`);
      previous = limiter.limit;
    }
    assert.ok(limiter.limit > 10);
    for (let i = 0; i < 50; i++) round(limiter, clock, 10);
    assert.equal(limiter.limit, 50);
  });

  test('shrinks when latency rises well above the no-load RTT, down to min', () => {
    const clock = new ManualClock(1_000);
    const limiter = gradientLimit({ initial: 40, min: 5, clock });
    round(limiter, clock, 10);
    const atBaseline = limiter.limit;
    round(limiter, clock, 40);
    assert.ok(limiter.limit < atBaseline, `${limiter.limit} >= ${atBaseline}`);
    for (let i = 0; i < 50; i++) round(limiter, clock, 40);
    assert.ok(limiter.limit <= 8, `limit ${limiter.limit} stays high under queueing`);
    assert.ok(limiter.limit >= 5);
    const floor = gradientLimit({ initial: 40, min: 30, clock });
    round(floor, clock, 10);
    // 10 rounds of 30 stay within one window of the 10 ms no-load RTT.
    for (let i = 0; i < 10; i++) round(floor, clock, 100);
    assert.equal(floor.limit, 30);
  });

  test('latency within the tolerance does not shrink the limit', () => {
    const clock = new ManualClock(1_000);
    const limiter = gradientLimit({ initial: 20, rttTolerance: 2, clock });
    round(limiter, clock, 10);
    const before = limiter.limit;
    round(limiter, clock, 19);
    assert.ok(limiter.limit >= before);
  });

  test('drops shrink the limit even at low latency', () => {
    const clock = new ManualClock(1_000);
    const limiter = gradientLimit({ initial: 100, clock });
    round(limiter, clock, 1);
    const before = limiter.limit;
    round(limiter, clock, 1, 'dropped');
    assert.ok(limiter.limit < before);
  });

  test('recovers after the no-load RTT window when a dependency stays slower', () => {
    const clock = new ManualClock(1_000);
    const limiter = gradientLimit({ initial: 20, rttWindow: 50, clock });
    round(limiter, clock, 10);
    for (let i = 0; i < 10; i++) round(limiter, clock, 100);
    const shrunk = limiter.limit;
    for (let i = 0; i < 60; i++) round(limiter, clock, 100);
    assert.ok(limiter.limit > shrunk, `${limiter.limit} <= ${shrunk}: still pinned to the old RTT`);
  });

  test('does not grow from a mostly idle limiter', () => {
    const clock = new ManualClock(1_000);
    const limiter = gradientLimit({ initial: 20, clock });
    for (let i = 0; i < 100; i++) {
      const t = limiter.tryAcquire()!;
      clock.advance(1);
      t.success();
    }
    assert.equal(limiter.limit, 20);
  });
});
