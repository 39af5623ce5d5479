import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import type { RateLimitEvent } from '../../src/core/diagnostics.js';
import { isSluiceError } from '../../src/core/errors.js';
import { tokenBucket } from '../../src/flow/index.js';

describe('tokenBucket', () => {
  test('admits a full burst, then refills at the configured rate', () => {
    const clock = new ManualClock(1_000);
    const limiter = tokenBucket({ name: 't', capacity: 3, refillPerSecond: 10, clock });
    const remaining = [1, 2, 3].map(() => limiter.take('a'));
    assert.deepEqual(
      remaining.map((d) => [d.allowed, d.remaining]),
      [
        [true, 2],
        [true, 1],
        [true, 0],
      ],
    );
    const denied = limiter.take('a');
    assert.equal(denied.allowed, false);
    assert.equal(denied.retryAfterMs, 100);
    assert.equal(denied.resetAfterMs, 300);
    clock.advance(99);
    assert.equal(limiter.take('a').allowed, false);
    clock.advance(1);
    const again = limiter.take('a');
    assert.equal(again.allowed, true);
    assert.equal(again.retryAfterMs, 0);
  });

  test('keys are independent and the bucket never exceeds capacity', () => {
    const clock = new ManualClock(1_000);
    const limiter = tokenBucket({ capacity: 2, refillPerSecond: 1, clock });
    limiter.take('a');
    limiter.take('a');
    assert.equal(limiter.take('a').allowed, false);
    assert.equal(limiter.take('b').allowed, true);
    clock.advance(60_000);
    assert.equal(limiter.take('a').remaining, 1);
    assert.equal(limiter.take('a').allowed, true);
    assert.equal(limiter.take('a').allowed, false);
  });

  test('a cost takes several tokens at once; a denied take consumes nothing', () => {
    const clock = new ManualClock(1_000);
    const limiter = tokenBucket({ capacity: 10, refillPerSecond: 10, clock });
    assert.equal(limiter.take('k', 7).remaining, 3);
    const denied = limiter.take('k', 5);
    assert.equal(denied.allowed, false);
    assert.equal(denied.retryAfterMs, 200);
    assert.equal(limiter.take('k', 3).allowed, true);
  });

  test('rejects a cost that could never pass and bad options', () => {
    const limiter = tokenBucket({ capacity: 5, refillPerSecond: 1 });
    assert.throws(
      () => limiter.take('k', 6),
      (e) => isSluiceError(e, 'SLUICE_INVALID_ARGUMENT'),
    );
    assert.throws(
      () => limiter.take('k', -1),
      (e) => isSluiceError(e, 'SLUICE_INVALID_ARGUMENT'),
    );
    assert.throws(
      () => tokenBucket({ capacity: 0, refillPerSecond: 1 }),
      (e) => isSluiceError(e, 'SLUICE_INVALID_ARGUMENT'),
    );
  });

  test('idle keys are evicted and the key count stays bounded', () => {
    const clock = new ManualClock(1_000);
    const limiter = tokenBucket({ capacity: 1, refillPerSecond: 1, clock, maxKeys: 100 });
    for (let i = 0; i < 1_000; i++) limiter.take(`k${i}`);
    assert.equal(limiter.size, 100);
    clock.advance(1_000);
    for (let i = 0; i < 200; i++) limiter.take('k999');
    assert.equal(limiter.size, 100, 'lookups alone neither add nor sweep');
    // Each new key sweeps two entries: the 99 idle keys make room for 99 new ones, and
    // the active k999 keeps its (empty) bucket.
    for (let i = 0; i < 99; i++) limiter.take(`new${i}`);
    assert.equal(limiter.size, 100);
    assert.equal(limiter.take('k999').allowed, false);
  });

  test('evicting an idle key loses no state', () => {
    const clock = new ManualClock(1_000);
    const limiter = tokenBucket({ capacity: 2, refillPerSecond: 1, clock, maxKeys: 10 });
    limiter.take('a');
    limiter.take('a');
    clock.advance(500);
    for (let i = 0; i < 5; i++) limiter.take(`other${i}`);
    const d = limiter.take('a');
    assert.equal(d.allowed, false, 'a half-refilled bucket must not be reset by the sweep');
  });

  test('publishes each decision on the rateLimit channel', () => {
    const events: RateLimitEvent[] = [];
    const listener = (m: unknown) => events.push(m as RateLimitEvent);
    subscribe('sluice:ratelimit:decision', listener);
    try {
      const limiter = tokenBucket({ name: 'pub', capacity: 1, refillPerSecond: 1 });
      limiter.take('x');
      limiter.take('x');
    } finally {
      unsubscribe('sluice:ratelimit:decision', listener);
    }
    assert.deepEqual(events, [
      { name: 'pub', allowed: true },
      { name: 'pub', allowed: false },
    ]);
  });
});
