import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import type { ShedEvent } from '../../src/core/diagnostics.js';
import { isSluiceError, retryAfterOf, TimeoutError } from '../../src/core/errors.js';
import {
  aimdLimit,
  fixedConcurrencyLimit,
  gcra,
  loadShedder,
  type RateLimiter,
} from '../../src/flow/index.js';

describe('loadShedder', () => {
  test("turns a rate limiter's no into RateLimitedError with retryAfter", async () => {
    const clock = new ManualClock(1_000);
    const limiter = gcra({ limit: 1, periodMs: 2_000, burst: 1, clock });
    const shedder = loadShedder({ name: 'api', limiter });
    assert.equal(await shedder.run(() => 'ok', { key: 'alice' }), 'ok');
    await assert.rejects(
      shedder.run(() => 'never', { key: 'alice' }),
      (e) => isSluiceError(e, 'SLUICE_RATE_LIMITED') && retryAfterOf(e) === 2_000,
    );
    assert.equal(await shedder.run(() => 'bob', { key: 'bob' }), 'bob');
  });

  test('turns a full concurrency limit into LoadShedError and publishes the shed', async () => {
    const events: ShedEvent[] = [];
    const listener = (m: unknown) => events.push(m as ShedEvent);
    subscribe('sluice:shed', listener);
    const limit = fixedConcurrencyLimit(1);
    const shedder = loadShedder({ name: 'pool', concurrencyLimit: limit, retryAfterMs: 250 });
    let finish: () => void = () => {};
    try {
      const first = shedder.run(() => new Promise<void>((resolve) => (finish = resolve)));
      await assert.rejects(
        shedder.run(() => 'second'),
        (e) => isSluiceError(e, 'SLUICE_LOAD_SHED') && retryAfterOf(e) === 250,
      );
      finish();
      await first;
      assert.equal(limit.inflight, 0);
      assert.equal(await shedder.run(() => 'third'), 'third');
    } finally {
      unsubscribe('sluice:shed', listener);
    }
    assert.deepEqual(events, [{ name: 'pool', retryAfterMs: 250 }]);
  });

  test('releases with the outcome: timeouts are drops, other errors are ignored', async () => {
    const limit = aimdLimit({ initial: 10, backoffRatio: 0.5 });
    const shedder = loadShedder({ concurrencyLimit: limit });
    await assert.rejects(
      shedder.run(() => Promise.reject(new Error('bad input'))),
      /bad input/,
    );
    assert.equal(limit.limit, 10, 'an ordinary failure does not move the limit');
    await assert.rejects(
      shedder.run(() => Promise.reject(new TimeoutError(5))),
      (e) => isSluiceError(e, 'SLUICE_TIMEOUT'),
    );
    assert.equal(limit.limit, 5, 'a timeout is a drop');
    assert.equal(limit.inflight, 0);
  });

  test('a custom classify decides the release', async () => {
    const limit = aimdLimit({ initial: 10, backoffRatio: 0.5 });
    const shedder = loadShedder({ concurrencyLimit: limit, classify: () => 'dropped' });
    await assert.rejects(shedder.run(() => Promise.reject(new Error('x'))));
    assert.equal(limit.limit, 5);
  });

  test('a rate rejection gives back the concurrency slot it took', async () => {
    const limit = fixedConcurrencyLimit(1);
    const deny: RateLimiter = {
      name: 'deny',
      take: () => ({ allowed: false, limit: 1, remaining: 0, resetAfterMs: 9, retryAfterMs: 9 }),
    };
    const shedder = loadShedder({ limiter: deny, concurrencyLimit: limit });
    await assert.rejects(shedder.acquire(), (e) => isSluiceError(e, 'SLUICE_RATE_LIMITED'));
    assert.equal(limit.inflight, 0);
    const failing: RateLimiter = {
      name: 'broken',
      take: () => Promise.reject(new Error('store down')),
    };
    await assert.rejects(
      loadShedder({ limiter: failing, concurrencyLimit: limit }).acquire(),
      /store down/,
    );
    assert.equal(limit.inflight, 0);
  });

  test('an aborted signal admits nothing; the signal reaches the work', async () => {
    const limit = fixedConcurrencyLimit(1);
    const shedder = loadShedder({ concurrencyLimit: limit });
    await assert.rejects(
      shedder.run(() => 'x', { signal: AbortSignal.abort() }),
      (e) => isSluiceError(e, 'SLUICE_ABORTED'),
    );
    assert.equal(limit.inflight, 0);
    const controller = new AbortController();
    const seen = await shedder.run((signal) => signal, { signal: controller.signal });
    assert.equal(seen, controller.signal);
  });

  test('needs a limiter', () => {
    assert.throws(
      () => loadShedder({}),
      (e) => isSluiceError(e, 'SLUICE_INVALID_ARGUMENT'),
    );
  });
});
