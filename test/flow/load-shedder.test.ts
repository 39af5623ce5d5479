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
import { circuitBreaker, timeout, wrap } from '../../src/resilience/index.js';

describe('loadShedder', () => {
  test("turns a rate limiter's no into RateLimitedError with retryAfter", async () => {
    const clock = new ManualClock(1_000);
    const limiter = gcra({ limit: 1, periodMs: 2_000, burst: 1, clock });
    const shedder = loadShedder({ name: 'api', limiter });
    (await shedder.acquire({ key: 'alice' })).success();
    await assert.rejects(
      shedder.acquire({ key: 'alice' }),
      (e) => isSluiceError(e, 'SLUICE_RATE_LIMITED') && retryAfterOf(e) === 2_000,
    );
    (await shedder.acquire({ key: 'bob' })).success();
    assert.equal(await shedder.execute(() => 'global'), 'global', 'execute takes the key global');
    await assert.rejects(
      shedder.execute(() => 'never'),
      (e) => isSluiceError(e, 'SLUICE_RATE_LIMITED'),
    );
    assert.equal(shedder.stats().shed, 2);
  });

  test('turns a full concurrency limit into LoadShedError and publishes the shed', async () => {
    const events: ShedEvent[] = [];
    const listener = (m: unknown) => events.push(m as ShedEvent);
    subscribe('sluice:shed', listener);
    const limit = fixedConcurrencyLimit(1);
    const shedder = loadShedder({ name: 'pool', concurrencyLimit: limit, retryAfterMs: 250 });
    let finish: () => void = () => {};
    try {
      const first = shedder.execute(() => new Promise<void>((resolve) => (finish = resolve)));
      await assert.rejects(
        shedder.execute(() => 'second'),
        (e) => isSluiceError(e, 'SLUICE_LOAD_SHED') && retryAfterOf(e) === 250,
      );
      finish();
      await first;
      assert.equal(limit.inflight, 0);
      assert.deepEqual(shedder.stats(), { limit: 1, inflight: 0, shed: 1 });
      assert.equal(await shedder.execute(() => 'third'), 'third');
    } finally {
      unsubscribe('sluice:shed', listener);
    }
    assert.deepEqual(events, [{ name: 'pool', retryAfterMs: 250 }]);
  });

  test('call admits without a signal, sheds when full and releases on every outcome', async () => {
    const limit = fixedConcurrencyLimit(1);
    const shedder = loadShedder({ name: 'direct', concurrencyLimit: limit });
    let finish: () => void = () => {};
    const first = shedder.call(() => new Promise<void>((resolve) => (finish = resolve)));
    assert.equal(limit.inflight, 1);
    await assert.rejects(
      shedder.call(() => 'second'),
      (e) => isSluiceError(e, 'SLUICE_LOAD_SHED'),
    );
    finish();
    await first;
    assert.equal(limit.inflight, 0);
    await assert.rejects(
      shedder.call(() => {
        throw new Error('sync');
      }),
      /sync/,
    );
    await assert.rejects(
      shedder.call(() => Promise.reject(new Error('async'))),
      /async/,
    );
    assert.equal(limit.inflight, 0, 'a failed call gave its slot back');
    assert.equal(await shedder.call(() => 'fourth'), 'fourth');
    assert.deepEqual(shedder.stats(), { limit: 1, inflight: 0, shed: 1 });
  });

  test('releases with the outcome: timeouts are drops, other errors are ignored', async () => {
    const limit = aimdLimit({ initial: 10, backoffRatio: 0.5 });
    const shedder = loadShedder({ concurrencyLimit: limit });
    await assert.rejects(
      shedder.execute(() => Promise.reject(new Error('bad input'))),
      /bad input/,
    );
    assert.equal(limit.limit, 10, 'an ordinary failure does not move the limit');
    await assert.rejects(
      shedder.execute(() => Promise.reject(new TimeoutError(5))),
      (e) => isSluiceError(e, 'SLUICE_TIMEOUT'),
    );
    assert.equal(limit.limit, 5, 'a timeout is a drop');
    assert.equal(limit.inflight, 0);
  });

  test('a custom classify decides the release', async () => {
    const limit = aimdLimit({ initial: 10, backoffRatio: 0.5 });
    const shedder = loadShedder({ concurrencyLimit: limit, classify: () => 'dropped' });
    await assert.rejects(shedder.execute(() => Promise.reject(new Error('x'))));
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
      shedder.execute(() => 'x', { signal: AbortSignal.abort() }),
      (e) => isSluiceError(e, 'SLUICE_ABORTED'),
    );
    assert.equal(limit.inflight, 0);
    const controller = new AbortController();
    const seen = await shedder.execute(({ signal }) => signal, { signal: controller.signal });
    assert.equal(seen, controller.signal);
  });

  test('composes inside wrap(): inner timeouts are drops, refusals reach the outer policies', async () => {
    const limit = aimdLimit({ initial: 4, min: 1, backoffRatio: 0.5 });
    const shedder = loadShedder({ name: 'wrapped', concurrencyLimit: limit, retryAfterMs: 300 });
    const never = ({ signal }: { signal: AbortSignal }) =>
      new Promise<never>((_, reject) =>
        signal.addEventListener('abort', () => reject(signal.reason)),
      );
    await assert.rejects(wrap(shedder, timeout(1)).execute(never), (e) =>
      isSluiceError(e, 'SLUICE_TIMEOUT'),
    );
    assert.equal(limit.limit, 2, 'the timeout inside the shedder shrank its limit');
    assert.equal(limit.inflight, 0);

    const breaker = circuitBreaker({ minimumCalls: 100 });
    const policy = wrap(breaker, shedder, timeout(60_000));
    const hold: (() => void)[] = [];
    const held = [1, 2].map(() =>
      policy.execute(() => new Promise<void>((resolve) => hold.push(resolve))),
    );
    await assert.rejects(
      policy.execute(() => 'third'),
      (e) => isSluiceError(e, 'SLUICE_LOAD_SHED') && retryAfterOf(e) === 300,
    );
    for (const release of hold) release();
    await Promise.all(held);
    assert.equal(await policy.execute(({ signal }) => signal instanceof AbortSignal), true);
    assert.equal(limit.inflight, 0);
  });

  test('needs a limiter', () => {
    assert.throws(
      () => loadShedder({}),
      (e) => isSluiceError(e, 'SLUICE_INVALID_ARGUMENT'),
    );
  });
});
