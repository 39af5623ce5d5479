import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import type { ShedEvent } from '../../src/core/diagnostics.js';
import { isSluiceError, retryAfterOf, TimeoutError } from '../../src/core/errors.js';
import {
  aimdLimit,
  concurrencyLimit,
  fixedConcurrencyLimit,
  gcra,
  type LimitSample,
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
      assert.deepEqual(shedder.stats(), { limit: 1, inflight: 0, queued: 0, shed: 1 });
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
    assert.deepEqual(shedder.stats(), { limit: 1, inflight: 0, queued: 0, shed: 1 });
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

/** Work that ends only when told to, and the list of the ends to call. */
function held() {
  const ends: (() => void)[] = [];
  const work = () => new Promise<void>((resolve) => ends.push(resolve));
  return { ends, work };
}

describe('loadShedder with a queue', () => {
  test('a call over the limit waits for a slot, oldest first, and a full queue refuses', async () => {
    const limit = fixedConcurrencyLimit(1);
    const shedder = loadShedder({ name: 'q', concurrencyLimit: limit, maxQueue: 2 });
    const { ends, work } = held();
    const order: string[] = [];
    const first = shedder.call(work);
    const second = shedder.call(() => order.push('second'));
    const third = shedder.execute(() => order.push('third'));
    await assert.rejects(
      shedder.call(() => order.push('fourth')),
      (e) =>
        isSluiceError(e, 'SLUICE_LOAD_SHED') &&
        /1 calls already in flight and 2 waiting/.test(e.message),
    );
    assert.deepEqual(shedder.stats(), { limit: 1, inflight: 1, queued: 2, shed: 1 });
    assert.deepEqual(order, [], 'nothing runs past the limit');
    ends[0]!();
    await Promise.all([first, second, third]);
    assert.deepEqual(order, ['second', 'third']);
    assert.deepEqual(shedder.stats(), { limit: 1, inflight: 0, queued: 0, shed: 1 });
  });

  test('the time spent waiting is not part of the latency the limit learns from', async () => {
    const clock = new ManualClock(1_000);
    const samples: number[] = [];
    const limit = concurrencyLimit(
      {
        initial: 1,
        update: ({ rttMs }: LimitSample) => {
          samples.push(rttMs);
          return 1;
        },
      },
      { clock },
    );
    const shedder = loadShedder({ concurrencyLimit: limit, maxQueue: 1 });
    const { ends, work } = held();
    const first = shedder.call(work);
    const second = shedder.call(work);
    clock.advance(500);
    ends[0]!();
    await first;
    clock.advance(2);
    ends[1]!();
    await second;
    assert.deepEqual(samples, [500, 2]);
  });

  test('refuses every waiting call once no call has ended for failFastMs', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const events: ShedEvent[] = [];
    const listener = (m: unknown) => events.push(m as ShedEvent);
    subscribe('sluice:shed', listener);
    try {
      const limit = fixedConcurrencyLimit(2);
      const shedder = loadShedder({
        name: 'stuck',
        concurrencyLimit: limit,
        maxQueue: 5,
        failFastMs: 1_000,
        retryAfterMs: 2_000,
      });
      const { ends, work } = held();
      const running = [shedder.call(work), shedder.call(work)];
      const waiting = [shedder.call(() => 'a'), shedder.call(() => 'b')];
      const outcomes = Promise.allSettled(waiting);
      t.mock.timers.tick(999);
      assert.equal(shedder.stats().queued, 2, 'not yet: the limit may still move');
      t.mock.timers.tick(1);
      for (const outcome of await outcomes) {
        assert.equal(outcome.status, 'rejected');
        const error = (outcome as PromiseRejectedResult).reason;
        assert.ok(isSluiceError(error, 'SLUICE_LOAD_SHED'), String(error));
        assert.equal(retryAfterOf(error), 2_000);
        assert.match(String(error), /no call ended for 1000 ms/);
      }
      assert.deepEqual(shedder.stats(), { limit: 2, inflight: 2, queued: 0, shed: 2 });
      for (const end of ends) end();
      await Promise.all(running);
    } finally {
      unsubscribe('sluice:shed', listener);
    }
    assert.deepEqual(events, [
      { name: 'stuck', retryAfterMs: 2_000 },
      { name: 'stuck', retryAfterMs: 2_000 },
    ]);
  });

  test('a call that ends restarts the fail-fast clock: a slow but moving queue waits', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const limit = fixedConcurrencyLimit(1);
    const shedder = loadShedder({
      concurrencyLimit: limit,
      maxQueue: 5,
      failFastMs: 1_000,
    });
    const { ends, work } = held();
    const calls = [0, 1, 2, 3].map(() => shedder.call(work));
    // One call ends every 900 ms: the last waiter waits 2.7 s, but the queue never stalls.
    for (let i = 0; i < 3; i++) {
      t.mock.timers.tick(900);
      assert.equal(shedder.stats().queued, 3 - i);
      ends[i]!();
      await calls[i];
    }
    assert.deepEqual(shedder.stats(), { limit: 1, inflight: 1, queued: 0, shed: 0 });
    ends[3]!();
    await calls[3];
  });

  test('time the process spends off its CPU does not count towards fail-fast', async () => {
    const limit = fixedConcurrencyLimit(1);
    const shedder = loadShedder({ concurrencyLimit: limit, maxQueue: 1, failFastMs: 50 });
    const { ends, work } = held();
    const first = shedder.call(work);
    const second = shedder.call(() => 'served');
    // The event loop is held for four fail-fast periods, as a process that waits for its CPU
    // is; the first call ends in the first turn after, just after the overdue timer.
    const until = performance.now() + 200;
    while (performance.now() < until) {}
    setTimeout(() => ends[0]!(), 0);
    await first;
    assert.equal(await second, 'served');
    assert.equal(shedder.stats().shed, 0);
  });

  test('an aborted wait leaves the queue; a waiting rate-limited acquire gives its slot on', async () => {
    const limit = fixedConcurrencyLimit(1);
    const shedder = loadShedder({ concurrencyLimit: limit, maxQueue: 2 });
    const { ends, work } = held();
    const first = shedder.call(work);
    const controller = new AbortController();
    const gone = shedder.call(() => 'never', controller.signal);
    const acquired = shedder.acquire();
    controller.abort();
    await assert.rejects(gone, (e) => isSluiceError(e, 'SLUICE_ABORTED'));
    assert.equal(shedder.stats().queued, 1);
    ends[0]!();
    await first;
    const token = await acquired;
    assert.equal(limit.inflight, 1);
    const next = shedder.call(() => 'after the token');
    assert.equal(shedder.stats().queued, 1);
    token.success();
    assert.equal(await next, 'after the token', 'releasing an acquired token serves the queue');
    assert.equal(limit.inflight, 0);
  });

  test('rejects a bad queue length or fail-fast time', () => {
    const invalid = (e: unknown) => isSluiceError(e, 'SLUICE_INVALID_ARGUMENT');
    const concurrency = fixedConcurrencyLimit(1);
    assert.throws(() => loadShedder({ concurrencyLimit: concurrency, maxQueue: -1 }), invalid);
    assert.throws(() => loadShedder({ concurrencyLimit: concurrency, maxQueue: 1.5 }), invalid);
    assert.throws(() => loadShedder({ concurrencyLimit: concurrency, failFastMs: 0 }), invalid);
  });
});
