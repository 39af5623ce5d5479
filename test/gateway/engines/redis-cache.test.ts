import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import type { RouteConfig } from '../../../src/gateway/config.js';
import { Gateway } from '../../../src/gateway/gateway.js';
import { requireEngine } from '../../support/engines.js';
import { waitFor } from '../../support/wait-for.js';
import { call, startUpstream, type TestUpstream } from '../helpers.js';

const REDIS = 'redis://127.0.0.1:6379';
const HOST = 'shop.example';

async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 200);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}

async function storeErrors(registry: Registry, operation: string): Promise<number> {
  const metric = await registry.getSingleMetric('sluice_gateway_cache_store_errors_total')?.get();
  return metric?.values.find((v) => v.labels.operation === operation)?.value ?? 0;
}

/** A port where nothing listens. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('gateway cache shared through Redis', () => {
  const prefix = `sluice-test:cache:${randomUUID()}:`;
  let redis: Redis;
  let upstream: TestUpstream;
  const gateways: Gateway[] = [];
  let version = 0;
  let hold: Promise<void> | null = null;
  const arrivals: (() => void)[] = [];

  before(async () => {
    await requireEngine('redis');
    redis = new Redis(REDIS);
    upstream = await startUpstream(async (seen, respond) => {
      arrivals.shift()?.();
      if (hold) await hold;
      version++;
      const url = seen.url;
      if (url.startsWith('/api/private')) respond(200, { 'cache-control': 'private, max-age=60' });
      else if (url.startsWith('/api/no-store')) respond(200, { 'cache-control': 'no-store' });
      else if (url.startsWith('/api/swr'))
        respond(200, { 'cache-control': 'max-age=0, stale-while-revalidate=60' }, `v${version}`);
      else if (url.startsWith('/api/etag')) {
        const fresh = { 'cache-control': 'max-age=0, stale-while-revalidate=60', etag: '"e1"' };
        if (seen.headers['if-none-match'] === '"e1"') respond(304, fresh, '');
        else respond(200, fresh, `v${version}`);
      } else if (url.startsWith('/api/big')) respond(200, {}, 'x'.repeat(4096));
      else if (url.startsWith('/api/negotiated'))
        respond(
          200,
          { vary: 'Accept-Encoding, Accept' },
          `v${version}:${seen.headers['accept-encoding']}:${seen.headers.accept}`,
        );
      else if (url.startsWith('/api/lang'))
        respond(200, { vary: 'accept-language' }, `${seen.headers['accept-language']}`);
      else respond(200, {}, `v${version}`);
    });
    const cache = { maxAge: '60s', store: REDIS, keyPrefix: prefix, storeTimeout: '5s' };
    const routes: RouteConfig[] = [
      {
        name: 'big',
        path: '/api/big',
        upstream: upstream.url,
        cache: { ...cache, maxEntryBytes: '1kb' },
      },
      {
        name: 'lang',
        path: '/api/lang',
        upstream: upstream.url,
        cache: { ...cache, maxVariants: 2 },
      },
      { name: 'api', path: '/api/*', upstream: upstream.url, cache },
    ];
    for (let i = 0; i < 2; i++) {
      gateways.push(await Gateway.start({ listen: 0, metrics: false, tracing: false, routes }));
    }
  });

  after(async () => {
    for (const gw of gateways) await gw.close();
    await upstream?.close();
    if (redis) {
      const keys = await keysUnder(redis, prefix);
      if (keys.length > 0) await redis.del(...keys);
      assert.deepEqual(await keysUnder(redis, prefix), []);
      redis.disconnect();
    }
  });

  // Both gateways see one Host, as processes behind one listener or load balancer do.
  const via =
    (i: number) =>
    (path: string, headers: Record<string, string> = {}): ReturnType<typeof call> =>
      call(`${gateways[i]!.url}${path}`, { headers: { host: HOST, ...headers } });
  const a = via(0);
  const b = via(1);

  it('serves a response cached through one gateway as a hit on another', async () => {
    const first = await a('/api/products/1');
    assert.equal(first.headers['cache-status'], 'sluice; fwd=miss; stored');
    const seen = upstream.seen.length;
    const second = await b('/api/products/1');
    assert.equal(second.text, first.text);
    assert.match(String(second.headers['cache-status']), /^sluice; hit; ttl=\d+$/);
    assert.equal(upstream.seen.length, seen);
  });

  it('stores the status, headers and body under the prefix, expiring with the freshness', async () => {
    await a('/api/products/2', { cookie: 'session=secret-cookie' });
    const key = `${prefix}api:{http://${HOST}/api/products/2}`;
    const keys = await keysUnder(redis, key);
    assert.deepEqual(keys.sort(), [key, `${key}:ttl`]);
    const ttl = await redis.pttl(key);
    assert.ok(ttl > 0 && ttl <= 60_000, `PTTL ${ttl}`);
    const stored = Object.values(await redis.hgetallBuffer(key))[0]!;
    assert.ok(stored.includes('"status":200'));
    assert.ok(!stored.includes('secret-cookie'), 'request cookies never reach Redis');
  });

  it('keeps Accept-Encoding and Accept variants apart across gateways', async () => {
    const asks = [
      { 'accept-encoding': 'gzip', accept: 'application/json' },
      { 'accept-encoding': 'br', accept: 'application/json' },
      { 'accept-encoding': 'gzip', accept: 'text/html' },
    ];
    const firsts = [];
    for (const headers of asks) {
      const reply = await a('/api/negotiated', headers);
      assert.equal(reply.headers['cache-status'], 'sluice; fwd=miss; stored');
      firsts.push(reply.text);
    }
    assert.equal(new Set(firsts).size, 3);
    for (const [i, headers] of asks.entries()) {
      const reply = await b('/api/negotiated', headers);
      assert.equal(reply.text, firsts[i]);
      assert.match(String(reply.headers['cache-status']), /^sluice; hit/);
      assert.ok(reply.text.endsWith(`:${headers['accept-encoding']}:${headers.accept}`));
    }
  });

  it('keeps at most maxVariants variants of a URL', async () => {
    for (const lang of ['fr', 'de', 'it']) {
      assert.equal((await a('/api/lang', { 'accept-language': lang })).text, lang);
    }
    const key = `${prefix}lang:{http://${HOST}/api/lang}`;
    assert.equal(await redis.hlen(key), 2);
    assert.equal(await redis.zcard(`${key}:ttl`), 2);
    const italian = await b('/api/lang', { 'accept-language': 'it' });
    assert.match(String(italian.headers['cache-status']), /^sluice; hit/);
  });

  it('never stores private or no-store responses in Redis', async () => {
    for (const path of ['/api/private', '/api/no-store']) {
      assert.equal((await a(path)).headers['cache-status'], 'sluice; fwd=miss');
      assert.equal((await b(path)).headers['cache-status'], 'sluice; fwd=miss');
    }
    const keys = await keysUnder(redis, prefix);
    assert.ok(!keys.some((k) => k.includes('private') || k.includes('no-store')), keys.join());
  });

  it('does not put a response over maxEntryBytes in Redis, and passes it whole', async () => {
    const reply = await a('/api/big');
    assert.equal(reply.text.length, 4096);
    assert.equal(reply.headers['cache-status'], 'sluice; fwd=miss');
    assert.deepEqual(await keysUnder(redis, `${prefix}big:`), []);
  });

  it('serves stale while revalidating, and the refresh reaches the other gateway', async () => {
    const first = await a('/api/swr');
    assert.equal(first.headers['cache-status'], 'sluice; fwd=miss; stored');
    const refreshed = new Promise<void>((r) => arrivals.push(r));
    const second = await b('/api/swr');
    assert.equal(second.text, first.text);
    assert.equal(
      second.headers['cache-status'],
      'sluice; hit; fwd=stale; detail=stale-while-revalidate',
    );
    await refreshed; // the background request reached the upstream
    const key = `${prefix}api:{http://${HOST}/api/swr}`;
    const stored = async (): Promise<string> =>
      Object.values(await redis.hgetallBuffer(key))[0]!.toString();
    await waitFor(
      'the refreshed entry in Redis',
      async () => !(await stored()).endsWith(first.text),
    );
    const refreshedAgain = new Promise<void>((r) => arrivals.push(r));
    const third = await a('/api/swr');
    assert.notEqual(third.text, first.text);
    assert.ok(third.text.startsWith('v'));
    await refreshedAgain; // this one too, so that no refresh outlives the test
    await waitFor(
      'the second refresh in Redis',
      async () => !(await stored()).endsWith(third.text),
    );
  });

  it('renews an entry in Redis when the upstream answers 304 to a background refresh', async () => {
    const first = await a('/api/etag');
    assert.equal(first.headers['cache-status'], 'sluice; fwd=miss; stored');
    const key = `${prefix}api:{http://${HOST}/api/etag}`;
    const before = Object.values(await redis.hgetallBuffer(key))[0]!;
    const refreshed = new Promise<void>((r) => arrivals.push(r));
    assert.equal((await b('/api/etag')).text, first.text);
    await refreshed;
    assert.equal(upstream.seen.at(-1)!.headers['if-none-match'], '"e1"');
    const stored = async (): Promise<Buffer> => Object.values(await redis.hgetallBuffer(key))[0]!;
    await waitFor('the renewed entry in Redis', async () => !(await stored()).equals(before));
    assert.ok((await stored()).toString().endsWith(first.text));
  });

  it('coalesces concurrent misses in one gateway into one upstream request', async () => {
    let release!: () => void;
    hold = new Promise<void>((r) => {
      release = r;
    });
    const arrived = new Promise<void>((r) => arrivals.push(r));
    const seen = upstream.seen.length;
    const first = a('/api/hot');
    await arrived;
    const rest = [1, 2, 3].map(() => a('/api/hot'));
    // Once the followers are in the gateway their Redis reads are on the wire, ahead of the
    // leader's write on the same connection: each reads a miss and parks on the leader.
    await waitFor('four requests in the gateway', () => gateways[0]!.inflight >= 4, {
      intervalMs: 1,
    });
    hold = null;
    release();
    const replies = await Promise.all([first, ...rest]);
    assert.equal(new Set(replies.map((r) => r.text)).size, 1);
    assert.deepEqual(
      replies.map((r) => r.headers['cache-status']),
      ['sluice; fwd=miss; stored', ...rest.map(() => 'sluice; hit; detail=coalesced')],
    );
    assert.deepEqual(
      upstream.seen.slice(seen).map((r) => r.url),
      ['/api/hot'],
    );
  });
});

describe('gateway cache when Redis is unavailable', () => {
  let upstream: TestUpstream;
  let silent: Server;
  const sockets = new Set<Socket>();

  before(async () => {
    upstream = await startUpstream((_seen, respond) =>
      respond(200, { 'cache-control': 'max-age=60' }, `n${upstream.seen.length}`),
    );
    // Accepts connections and never answers: every command times out.
    silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  });

  after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
    await upstream.close();
  });

  async function exercise(store: string): Promise<void> {
    const registry = new Registry();
    const gw = await Gateway.start(
      {
        listen: 0,
        tracing: false,
        routes: [
          {
            name: 'down',
            path: '/*',
            upstream: upstream.url,
            cache: { store, storeTimeout: '50ms' },
          },
        ],
      },
      { registry },
    );
    try {
      const seen = upstream.seen.length;
      for (let i = 0; i < 2; i++) {
        const reply = await call(`${gw.url}/item`);
        assert.equal(reply.status, 200);
        assert.equal(reply.text, `n${seen + i + 1}`);
        assert.equal(reply.headers['cache-status'], 'sluice; fwd=miss; detail=store-unavailable');
      }
      assert.equal(upstream.seen.length, seen + 2);
      assert.ok((await storeErrors(registry, 'read')) >= 2);
    } finally {
      await gw.close();
    }
  }

  it('goes upstream and counts the error when nothing listens at the store URL', async () => {
    await exercise(`redis://127.0.0.1:${await closedPort()}`);
  });

  it('goes upstream and counts the error when the store does not answer in time', async () => {
    await exercise(`redis://127.0.0.1:${(silent.address() as { port: number }).port}`);
  });
});
