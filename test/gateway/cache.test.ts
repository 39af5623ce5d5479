import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isSluiceError } from '../../src/core/errors.js';
import { compile } from '../../src/gateway/compile.js';
import type { CacheConfig } from '../../src/gateway/config.js';
import { loadGatewayConfig } from '../../src/gateway/config-file.js';
import { builtinFilters } from '../../src/gateway/filters/builtin.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { call, configProblems, startUpstream, type TestUpstream } from './helpers.js';

describe('gateway cache', () => {
  let upstream: TestUpstream;
  let gw: Gateway;
  let version = 0;
  let hold: Promise<void> | null = null;
  const arrivals: (() => void)[] = [];

  before(async () => {
    upstream = await startUpstream(async (seen, respond) => {
      arrivals.shift()?.();
      if (hold) await hold;
      version++;
      if (seen.url.startsWith('/products/private'))
        respond(200, { 'cache-control': 'private' }, `v${version}`);
      else if (seen.url.startsWith('/products/session'))
        respond(
          200,
          { 'cache-control': 'max-age=60', 'set-cookie': `s=${version}` },
          `v${version}`,
        );
      else if (seen.url.startsWith('/products/swr'))
        respond(200, { 'cache-control': 'max-age=0, stale-while-revalidate=60' }, `v${version}`);
      else if (seen.url.startsWith('/products/default')) respond(200, {}, `v${version}`);
      else
        respond(
          200,
          { 'cache-control': 'max-age=60', vary: 'accept-language' },
          `v${version}:${seen.headers['accept-language'] ?? ''}`,
        );
    });
    gw = await Gateway.start({
      listen: 0,
      routes: [
        { path: '/products/default', upstream: upstream.url, cache: { maxAge: '30s' } },
        { path: '/products/*', upstream: upstream.url, cache: {} },
      ],
    });
  });

  after(async () => {
    await gw.close();
    await upstream.close();
  });

  it('serves a fresh entry from the cache and says so in Cache-Status', async () => {
    const first = await call(`${gw.url}/products/1`);
    assert.match(String(first.headers['cache-status']), /fwd=miss; stored/);
    const seen = upstream.seen.length;
    const second = await call(`${gw.url}/products/1`);
    assert.equal(second.text, first.text);
    assert.match(String(second.headers['cache-status']), /^sluice; hit/);
    assert.equal(upstream.seen.length, seen);
  });

  it('keeps one entry per Vary value', async () => {
    const fr = await call(`${gw.url}/products/2`, { headers: { 'accept-language': 'fr' } });
    const de = await call(`${gw.url}/products/2`, { headers: { 'accept-language': 'de' } });
    assert.match(fr.text, /:fr$/);
    assert.match(de.text, /:de$/);
    assert.equal(
      (await call(`${gw.url}/products/2`, { headers: { 'accept-language': 'fr' } })).text,
      fr.text,
    );
  });

  it('does not store private responses', async () => {
    const a = await call(`${gw.url}/products/private`);
    const b = await call(`${gw.url}/products/private`);
    assert.notEqual(a.text, b.text);
    assert.equal(b.headers['cache-status'], 'sluice; fwd=miss');
  });

  it('does not store a response that sets a cookie, which belongs to one client', async () => {
    const a = await call(`${gw.url}/products/session`);
    const b = await call(`${gw.url}/products/session`);
    assert.notEqual(a.text, b.text);
    assert.equal(String(b.headers['set-cookie']), `s=${b.text.slice(1)}`);
    assert.doesNotMatch(String(b.headers['cache-status']), /hit|stored/);
  });

  it('applies the route maxAge when the upstream gives no freshness', async () => {
    const a = await call(`${gw.url}/products/default`);
    const b = await call(`${gw.url}/products/default`);
    assert.equal(a.text, b.text);
    assert.match(String(b.headers['cache-status']), /hit/);
  });

  it('serves stale while revalidating in the background', async () => {
    const a = await call(`${gw.url}/products/swr`);
    const refreshed = new Promise<void>((r) => arrivals.push(r));
    const b = await call(`${gw.url}/products/swr`);
    assert.equal(b.text, a.text);
    assert.match(String(b.headers['cache-status']), /stale-while-revalidate/);
    await refreshed; // the background request reached the upstream
  });

  it('coalesces concurrent misses into one upstream request', async () => {
    let release!: () => void;
    hold = new Promise<void>((r) => {
      release = r;
    });
    const arrived = new Promise<void>((r) => arrivals.push(r));
    const seen = upstream.seen.length;
    const first = call(`${gw.url}/products/hot`);
    await arrived;
    const rest = [1, 2, 3, 4].map(() => call(`${gw.url}/products/hot`));
    // Each follower is parked on the leader once the gateway has routed it; a later
    // request that arrives after the leader finished is a plain cache hit either way.
    await new Promise((r) => setImmediate(r));
    hold = null;
    release();
    const replies = await Promise.all([first, ...rest]);
    assert.equal(new Set(replies.map((r) => r.text)).size, 1);
    assert.deepEqual(
      upstream.seen.slice(seen).map((r) => r.url),
      ['/products/hot'],
    );
  });

  it('refuses a store that is not Redis, and maxBytes beside a Redis store', () => {
    const compileWith = (cache: CacheConfig) => () =>
      compile(
        { routes: [{ name: 'shop', path: '/a', upstream: upstream.url, cache }] },
        builtinFilters(),
      );
    assert.throws(compileWith({ store: 'http://127.0.0.1:6379' }), (error: unknown) => {
      assert.ok(isSluiceError(error, 'SLUICE_INVALID_ARGUMENT'));
      assert.match(
        error.message,
        /route "shop": cache\.store must be a redis:\/\/ or rediss:\/\/ URL/,
      );
      return true;
    });
    assert.throws(
      compileWith({ store: 'redis://127.0.0.1:6379', maxBytes: '32mb' }),
      /route "shop": cache\.maxBytes bounds the in-memory cache; with a Redis store, Redis's maxmemory bounds it/,
    );
  });

  /** The problems validation finds in a route whose `cache:` block is `lines`. */
  async function cacheProblems(lines: string[]): Promise<string[]> {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-gw-cache-'));
    try {
      const file = join(dir, 'gateway.yaml');
      const route = ['    - path: /a', '      upstream: http://127.0.0.1:1', '      cache:'];
      const body = ['version: 1', 'gateway:', '  routes:', ...route];
      writeFileSync(file, [...body, ...lines.map((line) => `        ${line}`), ''].join('\n'));
      return await configProblems(loadGatewayConfig(file));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('names the line of maxBytes set beside a Redis store in a config file', async () => {
    assert.deepEqual(await cacheProblems(['store: redis://127.0.0.1:6379', 'maxBytes: 32mb']), [
      `8 gateway.routes[0].cache.maxBytes: expected no maxBytes with a Redis store (Redis's maxmemory bounds it) (got "32mb")`,
    ]);
  });

  it('names the line of a targetedField that is not a header name', async () => {
    assert.deepEqual(await cacheProblems(['targetedField: "Edge Control"']), [
      '7 gateway.routes[0].cache.targetedField: expected a header name (got "Edge Control")',
    ]);
  });
});
