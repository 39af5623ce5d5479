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
  type GradientLimitOptions,
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
  /**
   * Small windows and probes, so that each round of calls is one window; no absolute
   * tolerance, so that the gradient is the plain ratio these tests compute.
   */
  const small = (clock: ManualClock, extra: GradientLimitOptions = {}) =>
    gradientLimit({
      windowMs: 10,
      probeSamples: 5,
      random: () => 0,
      toleranceMs: 0,
      clock,
      ...extra,
    });

  /**
   * `callers` calls at once, each taking `latencyMs`, released in turn; returns how many
   * the limit refused.
   */
  function concurrent(
    limiter: ConcurrencyLimit,
    clock: ManualClock,
    callers: number,
    latencyMs: number,
  ): number {
    const tokens: LimitToken[] = [];
    for (let i = 0; i < callers; i++) {
      const t = limiter.tryAcquire();
      if (t) tokens.push(t);
    }
    clock.advance(latencyMs);
    for (const t of tokens) t.success();
    return callers - tokens.length;
  }

  test('a fast upstream measured through a busy event loop keeps room for 32 callers', () => {
    const clock = new ManualClock(1_000);
    let loopDelayMs = 0;
    // The defaults the gateway uses, but for the injected clock and event-loop delay.
    const limiter = gradientLimit({ initial: 100, clock, ownDelayMs: () => loopDelayMs });
    let refused = 0;
    // An unloaded upstream: 1 ms. The first probe measures it at the initial limit.
    for (let i = 0; i < 50; i++) refused += concurrent(limiter, clock, 32, 1);
    // The gateway shares its CPU: every call in a window carries the loop's delay, up to
    // 40 times the upstream's own latency, varying from window to window.
    for (let i = 0; i < 400; i++) {
      loopDelayMs = [0, 3, 10, 25, 40][i % 5] as number;
      refused += concurrent(limiter, clock, 32, 1 + loopDelayMs);
      assert.ok(limiter.limit >= 32, `round ${i}: the limit fell to ${limiter.limit}`);
    }
    assert.equal(refused, 0);
  });

  test('scheduling noise of a few ms is not queueing, even unreported', () => {
    const clock = new ManualClock(1_000);
    const limiter = gradientLimit({ initial: 100, clock });
    let refused = 0;
    for (let i = 0; i < 50; i++) refused += concurrent(limiter, clock, 32, 1);
    for (let i = 0; i < 400; i++) refused += concurrent(limiter, clock, 32, 1 + (i % 5));
    assert.equal(refused, 0);
    assert.ok(limiter.limit >= 32, `${limiter.limit}`);
  });

  test('a genuinely slower upstream still shrinks the limit under a busy event loop', () => {
    const clock = new ManualClock(1_000);
    const limiter = gradientLimit({ initial: 100, clock, ownDelayMs: () => 2 });
    for (let i = 0; i < 50; i++) concurrent(limiter, clock, 64, 20);
    const before = limiter.limit;
    // Its latency doubles (a queue inside it), well past minRTT × 1.25 + 5 ms + 2 ms.
    for (let i = 0; i < 60; i++) concurrent(limiter, clock, 64, 40);
    assert.ok(limiter.limit < before / 2, `${limiter.limit} vs ${before}`);
    assert.ok(limiter.limit >= 16, `below the default floor: ${limiter.limit}`);
  });

  test('the default floor is 16, lowered only by a lower initial or max', () => {
    const clock = new ManualClock(1_000);
    const limiter = gradientLimit({ initial: 100, clock });
    for (let i = 0; i < 50; i++) concurrent(limiter, clock, 64, 20);
    let lowest = limiter.limit;
    for (let i = 0; i < 20; i++) {
      concurrent(limiter, clock, 64, 200);
      lowest = Math.min(lowest, limiter.limit);
    }
    assert.equal(lowest, 16);
    assert.equal(gradientLimit({ initial: 4 }).limit, 4);
    assert.equal(gradientLimit({ max: 2 }).limit, 2);
  });

  test('grows while latency stays at the minimum RTT, up to max', () => {
    const clock = new ManualClock(1_000);
    const limiter = small(clock, { initial: 10, max: 50 });
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

  test('shrinks under a slow upstream, never below min, and grows back when it recovers', () => {
    const clock = new ManualClock(1_000);
    const limiter = small(clock, { initial: 40, min: 4 });
    round(limiter, clock, 10);
    round(limiter, clock, 10);
    round(limiter, clock, 40); // ends the last window at 10 ms
    const atBaseline = limiter.limit;
    round(limiter, clock, 40);
    assert.ok(limiter.limit < atBaseline, `${limiter.limit} >= ${atBaseline}`);
    let lowest = limiter.limit;
    for (let i = 0; i < 40; i++) {
      round(limiter, clock, 40);
      lowest = Math.min(lowest, limiter.limit);
      assert.ok(limiter.limit >= 4, `below min: ${limiter.limit}`);
    }
    assert.ok(lowest <= 8, `the limit stayed at ${lowest} under queueing`);
    for (let i = 0; i < 40; i++) round(limiter, clock, 10);
    assert.ok(limiter.limit >= 30, `the limit did not grow back: ${limiter.limit}`);
  });

  test('cuts a queue at once, where growth is smoothed', () => {
    const clock = new ManualClock(1_000);
    const limiter = small(clock, { initial: 100, max: 1_000 });
    round(limiter, clock, 10);
    round(limiter, clock, 10);
    round(limiter, clock, 40); // ends the window at 10 ms: smoothed growth
    const before = limiter.limit;
    assert.ok(before > 100 && before < 125, `grew by ${before - 100}, not a fifth of the estimate`);
    round(limiter, clock, 40); // ends the window at 40 ms: gradient 0.5
    const cut = before * 0.5 + Math.sqrt(before);
    assert.ok(limiter.limit <= cut + 1 && limiter.limit >= cut - 1, `${limiter.limit} vs ${cut}`);
  });

  test('latency within the buffer does not shrink the limit', () => {
    const clock = new ManualClock(1_000);
    const limiter = small(clock, { initial: 20, buffer: 1 });
    round(limiter, clock, 10);
    const before = limiter.limit;
    for (let i = 0; i < 5; i++) round(limiter, clock, 19);
    assert.ok(limiter.limit >= before, `${limiter.limit} < ${before}`);
  });

  test('drops shrink the limit even at low latency', () => {
    const clock = new ManualClock(1_000);
    const limiter = small(clock, { initial: 100 });
    round(limiter, clock, 10);
    round(limiter, clock, 10);
    const before = limiter.limit;
    round(limiter, clock, 10, 'dropped');
    round(limiter, clock, 10);
    assert.ok(limiter.limit < before, `${limiter.limit} >= ${before}`);
  });

  test('measures the minimum RTT again at min concurrency after the jittered interval', () => {
    const clock = new ManualClock(0);
    const limiter = small(clock, {
      initial: 20,
      min: 2,
      max: 20,
      probeIntervalMs: 1_000,
      jitter: 0.5,
      random: () => 0.999,
    });
    round(limiter, clock, 10); // the first probe: minimum RTT 10 ms; next probe near 1,500
    while (clock.now() < 1_490) round(limiter, clock, 10);
    assert.equal(limiter.limit, 20, 'no probe before the interval and its jitter');
    for (let i = 0; i < 3 && limiter.limit === 20; i++) round(limiter, clock, 10);
    assert.equal(limiter.limit, 2, 'pinned to min while probing');
    // The upstream became slower for good: the probe measures its new minimum.
    for (let i = 0; i < 5 && limiter.limit === 2; i++) round(limiter, clock, 30);
    assert.equal(limiter.limit, 20, 'the limit before the probe is restored');
    for (let i = 0; i < 10; i++) round(limiter, clock, 30);
    assert.equal(limiter.limit, 20, 'the new latency is the baseline, not queueing');
  });

  test('a call admitted before the probe does not count towards the minimum RTT', () => {
    const clock = new ManualClock(0);
    const limiter = small(clock, { initial: 10, min: 1, probeIntervalMs: 100, jitter: 0 });
    round(limiter, clock, 10);
    const old = limiter.tryAcquire()!;
    while (limiter.limit !== 1) round(limiter, clock, 10);
    clock.advance(1_000);
    old.success(); // 1 s: it queued behind the old limit
    for (let i = 0; i < 5; i++) round(limiter, clock, 10);
    assert.equal(limiter.limit > 1, true, 'five fresh calls end the probe');
    round(limiter, clock, 10);
    round(limiter, clock, 10);
    assert.ok(
      limiter.limit >= 10,
      `the probe took the queued call as the baseline: ${limiter.limit}`,
    );
  });

  test('does not grow from a mostly idle limiter', () => {
    const clock = new ManualClock(1_000);
    const limiter = small(clock, { initial: 20 });
    for (let i = 0; i < 100; i++) {
      const t = limiter.tryAcquire()!;
      clock.advance(1);
      t.success();
    }
    assert.equal(limiter.limit, 20);
  });

  test('two limits learn independently: one slow upstream does not move the other', () => {
    const clock = new ManualClock(1_000);
    const slow = small(clock, { initial: 40, min: 3 });
    const fast = small(clock, { initial: 40, min: 3 });
    round(slow, clock, 10);
    round(fast, clock, 10);
    const fastBefore = fast.limit;
    for (let i = 0; i < 20; i++) round(slow, clock, 80);
    assert.ok(slow.limit < 20, `slow limit ${slow.limit}`);
    assert.equal(fast.limit, fastBefore);
  });

  test('rejects bad options', () => {
    const invalid = (e: unknown) => isSluiceError(e, 'SLUICE_INVALID_ARGUMENT');
    assert.throws(() => gradientLimit({ buffer: -1 }), invalid);
    assert.throws(() => gradientLimit({ toleranceMs: -1 }), invalid);
    assert.throws(() => gradientLimit({ jitter: 2 }), invalid);
    assert.throws(() => gradientLimit({ windowMs: 0 }), invalid);
    assert.throws(() => gradientLimit({ min: 5, initial: 2 }), invalid);
  });
});
