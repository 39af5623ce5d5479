import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { isSluiceError } from '../../src/core/errors.js';
import { gcra } from '../../src/flow/index.js';

describe('gcra', () => {
  test('admits the burst at once, then one call per emission interval', () => {
    const clock = new ManualClock(1_000);
    const limiter = gcra({ name: 'g', limit: 10, periodMs: 1_000, burst: 3, clock });
    const first = [1, 2, 3].map(() => limiter.take('a'));
    assert.deepEqual(
      first.map((d) => [d.allowed, d.remaining]),
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
    assert.equal(limiter.take('a').allowed, true);
    assert.equal(limiter.take('a').allowed, false);
  });

  test('burst defaults to the limit and keys are independent', () => {
    const clock = new ManualClock(1_000);
    const limiter = gcra({ limit: 5, periodMs: 1_000, clock });
    for (let i = 0; i < 5; i++) assert.equal(limiter.take('a').allowed, true);
    assert.equal(limiter.take('a').allowed, false);
    assert.equal(limiter.take('b').allowed, true);
  });

  test('a cost spends several intervals; a denied take changes nothing', () => {
    const clock = new ManualClock(1_000);
    const limiter = gcra({ limit: 10, periodMs: 1_000, burst: 10, clock });
    assert.equal(limiter.take('k', 8).remaining, 2);
    const denied = limiter.take('k', 4);
    assert.equal(denied.allowed, false);
    assert.equal(denied.retryAfterMs, 200);
    assert.equal(limiter.take('k', 2).allowed, true);
  });

  test('under twice the offered load the admitted rate matches the limit', () => {
    const clock = new ManualClock(1_000);
    const limiter = gcra({ limit: 100, periodMs: 1_000, burst: 1, clock });
    let admitted = 0;
    // 200 calls/s for 10 simulated seconds
    for (let i = 0; i < 2_000; i++) {
      if (limiter.take('k').allowed) admitted++;
      clock.advance(5);
    }
    assert.ok(Math.abs(admitted - 1_000) <= 1, `admitted ${admitted}`);
  });

  test('rejects a cost above the burst and bad options', () => {
    const limiter = gcra({ limit: 5, periodMs: 1_000, burst: 2 });
    assert.throws(
      () => limiter.take('k', 3),
      (e) => isSluiceError(e, 'SLUICE_INVALID_ARGUMENT'),
    );
    assert.throws(
      () => gcra({ limit: 5, periodMs: 0 }),
      (e) => isSluiceError(e, 'SLUICE_INVALID_ARGUMENT'),
    );
  });

  test('memory stays bounded by maxKeys and idle keys leave', () => {
    const clock = new ManualClock(1_000);
    const limiter = gcra({ limit: 1, periodMs: 1_000, clock, maxKeys: 50 });
    for (let i = 0; i < 500; i++) limiter.take(`k${i}`);
    assert.equal(limiter.size, 50);
    clock.advance(2_000);
    for (let i = 0; i < 50; i++) limiter.take(`new${i}`);
    assert.equal(limiter.size, 50, 'the idle keys were swept as new ones arrived');
  });
});

test('a take that fits exactly is admitted whatever fraction the clock reads', () => {
  for (const start of [0, 1234.567, 98765.4321, 1e9 + 0.1]) {
    const clock = new ManualClock(start);
    const limiter = gcra({ limit: 1, periodMs: 60_000, burst: 1, clock });
    assert.equal(limiter.take('a').allowed, true, `first take at ${start}`);
    const refused = limiter.take('a');
    assert.equal(refused.allowed, false);
    assert.equal(refused.retryAfterMs, 60_000);
    assert.equal(limiter.take('b').allowed, true, `fresh key at ${start}`);
    clock.advance(60_000);
    assert.equal(limiter.take('a').allowed, true, `after a full period at ${start}`);
  }
});
