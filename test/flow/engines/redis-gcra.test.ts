import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createServer, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import type { LimiterStoreErrorEvent } from '../../../src/core/diagnostics.js';
import { isSluiceError } from '../../../src/core/errors.js';
import { gcra, type RedisGcraLimiter, redisGcra } from '../../../src/flow/index.js';
import { requireEngine } from '../../support/engines.js';

const URL = 'redis://127.0.0.1:6379';
// A busy test machine can take longer than the 100 ms default to connect; a timeout
// would turn these answers into fail-open decisions.
const timeoutMs = 5_000;
const prefix = `sluice-test:rl:${process.pid}:${Date.now()}:`;
let admin: Redis;

before(async () => {
  await requireEngine('redis');
  admin = new Redis(URL);
});

after(async () => {
  const keys = await admin.keys(`${prefix}*`);
  if (keys.length > 0) await admin.del(...keys);
  await admin.quit();
});

/** A port nobody listens on: bind one, then close it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  assert.ok(address !== null && typeof address === 'object');
  return address.port;
}

describe('redisGcra against the real Redis', () => {
  test('admits the burst, then denies with a retry hint from the server clock', async () => {
    const limiter = redisGcra({
      url: URL,
      timeoutMs,
      limit: 10,
      periodMs: 60_000,
      burst: 3,
      keyPrefix: `${prefix}burst:`,
    });
    try {
      const decisions = [];
      for (let i = 0; i < 4; i++) decisions.push(await limiter.take('user'));
      assert.deepEqual(
        decisions.map((d) => [d.allowed, d.remaining]),
        [
          [true, 2],
          [true, 1],
          [true, 0],
          [false, 0],
        ],
      );
      const denied = decisions[3]!;
      assert.ok(
        denied.retryAfterMs > 5_000 && denied.retryAfterMs <= 6_000,
        `${denied.retryAfterMs}`,
      );
      assert.ok(denied.resetAfterMs > 17_000 && denied.resetAfterMs <= 18_000);
      const ttl = await admin.pttl(`${prefix}burst:user`);
      assert.ok(ttl > 0 && ttl <= 18_000, `the key expires once idle (pttl ${ttl})`);
      assert.equal((await limiter.take('other')).allowed, true);
      assert.equal(limiter.storeErrors, 0);
    } finally {
      await limiter.close();
    }
  });

  test('two limiters on two connections share one limit', async () => {
    const shared = new Redis(URL);
    const options = { limit: 5, periodMs: 60_000, keyPrefix: `${prefix}shared:`, timeoutMs };
    const a = redisGcra({ ...options, url: URL });
    const b = redisGcra({ ...options, redis: shared });
    try {
      let admitted = 0;
      for (let i = 0; i < 10; i++) {
        const limiter = i % 2 === 0 ? a : b;
        if ((await limiter.take('k')).allowed) admitted++;
      }
      assert.equal(admitted, 5);
    } finally {
      await a.close();
      await b.close();
      assert.equal(shared.status, 'ready', 'a shared client is left open');
      await shared.quit();
    }
  });

  test('reloads the script after SCRIPT FLUSH (NOSCRIPT falls back to EVAL)', async () => {
    const limiter = redisGcra({
      url: URL,
      limit: 2,
      periodMs: 60_000,
      keyPrefix: `${prefix}ns:`,
      timeoutMs,
    });
    try {
      assert.equal((await limiter.take('k')).allowed, true);
      await admin.script('FLUSH');
      assert.equal((await limiter.take('k')).allowed, true);
      assert.equal((await limiter.take('k')).allowed, false);
      assert.equal(limiter.storeErrors, 0);
    } finally {
      await limiter.close();
    }
  });

  test('admits what the in-process gcra admits for the same calls, across two connections', async () => {
    // A rate so slow that no token comes back during the test: the answer does not depend
    // on how fast this machine offers the calls (the admitted rate over time is measured
    // in bench/redis-gcra.bench.mjs).
    const options = {
      limit: 1,
      periodMs: 60_000,
      burst: 10,
      keyPrefix: `${prefix}same:`,
      timeoutMs,
    };
    const redis = new Redis(URL);
    const limiters = [redisGcra({ ...options, redis }), redisGcra({ ...options, url: URL })];
    const reference = gcra({ ...options, clock: { now: () => 0 } });
    try {
      const admitted: boolean[] = [];
      const expected: boolean[] = [];
      for (let i = 0; i < 30; i++) {
        expected.push(reference.take('k').allowed);
        admitted.push((await limiters[i % 2]!.take('k')).allowed);
      }
      assert.deepEqual(admitted, expected);
      assert.ok(expected.filter(Boolean).length >= 10, 'the burst is admitted');
      assert.ok(!expected.at(-1), 'the calls past the burst are refused');
    } finally {
      for (const l of limiters) await l.close();
      await redis.quit();
    }
  });

  test('rejects bad arguments before touching Redis', async () => {
    const invalid = (e: unknown) => isSluiceError(e, 'SLUICE_INVALID_ARGUMENT');
    assert.throws(() => redisGcra({ redis: admin, url: URL, limit: 1, periodMs: 1_000 }), invalid);
    assert.throws(() => redisGcra({ redis: admin, limit: 0, periodMs: 1_000 }), invalid);
    const typo = 'fail-opne' as 'fail-open';
    assert.throws(
      () => redisGcra({ redis: admin, limit: 1, periodMs: 1_000, onStoreError: typo }),
      invalid,
    );
    const limiter = redisGcra({
      redis: admin,
      limit: 5,
      periodMs: 1_000,
      burst: 2,
      keyPrefix: `${prefix}args:`,
    });
    await assert.rejects(limiter.take('k', 3), invalid);
    assert.equal(await admin.exists(`${prefix}args:k`), 0);
    assert.equal(limiter.storeErrors, 0);
  });

  describe('when Redis is unreachable', () => {
    const events: LimiterStoreErrorEvent[] = [];
    const listener = (m: unknown) => events.push(m as LimiterStoreErrorEvent);
    const limiters: RedisGcraLimiter[] = [];
    let url = '';

    before(async () => {
      url = `redis://127.0.0.1:${await closedPort()}`;
      subscribe('sluice:ratelimit:store-error', listener);
    });
    after(async () => {
      unsubscribe('sluice:ratelimit:store-error', listener);
      for (const l of limiters) await l.close();
    });

    for (const mode of ['fail-open', 'fail-closed'] as const) {
      test(`${mode} ${mode === 'fail-open' ? 'admits' : 'rejects'} and reports the error`, async () => {
        events.length = 0;
        const name = `down-${mode}`;
        const limiter = redisGcra({ name, url, limit: 1, periodMs: 1_000, onStoreError: mode });
        limiters.push(limiter);
        const first = await limiter.take('k');
        const second = await limiter.take('k');
        assert.equal(first.allowed, mode === 'fail-open');
        assert.equal(
          second.allowed,
          mode === 'fail-open',
          'the limit cannot apply without a store',
        );
        assert.equal(first.retryAfterMs, mode === 'fail-open' ? 0 : 1_000);
        assert.equal(limiter.storeErrors, 2);
        assert.equal(events.length, 2);
        assert.deepEqual(
          events.map((e) => [e.name, e.failOpen]),
          [
            [name, mode === 'fail-open'],
            [name, mode === 'fail-open'],
          ],
        );
      });
    }

    test('throw mode rejects with LimiterUnavailableError carrying the cause', async () => {
      const limiter = redisGcra({ url, limit: 1, periodMs: 500, onStoreError: 'throw' });
      limiters.push(limiter);
      await assert.rejects(limiter.take('k'), (e) => {
        assert.ok(isSluiceError(e, 'SLUICE_LIMITER_UNAVAILABLE'));
        assert.ok(e.cause instanceof Error);
        assert.equal(e.retryAfter, 500);
        return true;
      });
    });
  });

  test('a slow answer counts as a store error after timeoutMs', async () => {
    // A server that accepts connections and never answers.
    const sockets: Socket[] = [];
    const server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    assert.ok(address !== null && typeof address === 'object');
    const limiter = redisGcra({
      url: `redis://127.0.0.1:${address.port}`,
      limit: 1,
      periodMs: 1_000,
      timeoutMs: 50,
      onStoreError: 'fail-closed',
    });
    try {
      const decision = await limiter.take('k');
      assert.equal(decision.allowed, false);
      assert.equal(limiter.storeErrors, 1);
    } finally {
      await limiter.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
