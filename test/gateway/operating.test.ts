import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import type { GatewayConfig } from '../../src/gateway/config.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { call, startUpstream, type TestUpstream } from './helpers.js';

const token = 'admin-token-0123456789';
const auth = { authorization: `Bearer ${token}` };

describe('gateway operations', () => {
  let upstream: TestUpstream;
  let gw: Gateway;
  let next: GatewayConfig | (() => never);

  const base = (extra: Partial<GatewayConfig> = {}): GatewayConfig => ({
    listen: 0,
    admin: { listen: 0, token },
    upstreams: {
      shop: {
        targets: [upstream.url],
        resilience: { breaker: { failureRate: '50%' }, bulkhead: 10 },
      },
    },
    routes: [
      {
        name: 'products',
        path: '/products/*',
        upstream: 'shop',
        rateLimit: { by: 'ip', limit: '100/s' },
      },
    ],
    ...extra,
  });

  before(async () => {
    upstream = await startUpstream();
    next = base();
    gw = await Gateway.start(base(), {
      registry: new Registry(),
      load: async () => (typeof next === 'function' ? next() : next),
    });
  });

  after(async () => {
    await gw.close();
    await upstream.close();
  });

  it('keeps the admin API behind the token', async () => {
    const refused = await call(`${gw.adminUrl}/routes`);
    assert.equal(refused.status, 401);
    assert.equal(
      (await call(`${gw.adminUrl}/routes`, { headers: { authorization: 'Bearer wrong' } })).status,
      401,
    );
    const routes = await call(`${gw.adminUrl}/routes`, { headers: auth });
    assert.equal(routes.status, 200);
    const list = JSON.parse(routes.text) as { name: string; upstream: string }[];
    assert.deepEqual(
      list.map((r) => [r.name, r.upstream]),
      [['products', 'shop']],
    );
  });

  it('shows upstream health, breaker states and limiter state', async () => {
    assert.equal((await call(`${gw.url}/products/1`)).status, 200);
    const upstreams = JSON.parse(
      (await call(`${gw.adminUrl}/upstreams`, { headers: auth })).text,
    ) as {
      name: string;
      targets: { url: string; healthy: boolean }[];
    }[];
    assert.equal(upstreams[0]!.targets[0]!.url, upstream.url);
    assert.equal(upstreams[0]!.targets[0]!.healthy, true);
    const breakers = JSON.parse(
      (await call(`${gw.adminUrl}/breakers`, { headers: auth })).text,
    ) as {
      route: string;
      breaker: { state: string };
      bulkhead: { active: number };
    }[];
    assert.equal(breakers[0]!.route, 'products');
    assert.equal(breakers[0]!.breaker.state, 'closed');
    assert.equal(breakers[0]!.bulkhead.active, 0);
    const limits = JSON.parse((await call(`${gw.adminUrl}/limits`, { headers: auth })).text) as {
      rateLimits: { name: string; keys: number }[];
      shedding: { limit: number };
    };
    assert.equal(limits.rateLimits[0]!.name, 'products');
    assert.equal(limits.rateLimits[0]!.keys, 1);
    assert.equal(limits.shedding.limit, 10_000);
  });

  it('exposes Prometheus metrics per route and status class', async () => {
    await call(`${gw.url}/products/2`);
    await call(`${gw.url}/nowhere`);
    const text = (await call(`${gw.adminUrl}/metrics`)).text;
    assert.match(
      text,
      /sluice_gateway_requests_total\{route="products",upstream="shop",status_class="2xx"\} \d+/,
    );
    assert.match(
      text,
      /sluice_gateway_requests_total\{route="\(none\)",upstream="\(none\)",status_class="4xx"\} 1/,
    );
    assert.match(text, /sluice_gateway_request_duration_seconds_bucket/);
  });

  it('reloads atomically, and keeps the running config when the new one is invalid', async () => {
    next = base({ routes: [{ name: 'renamed', path: '/v2/*', upstream: 'shop' }] });
    const ok = await call(`${gw.adminUrl}/reload`, { method: 'POST', headers: auth });
    assert.equal(ok.status, 200, ok.text);
    assert.equal((await call(`${gw.url}/v2/x`)).status, 200);
    assert.equal((await call(`${gw.url}/products/1`)).status, 404);

    next = base({ routes: [{ name: 'broken', path: '/x', upstream: 'missing-upstream' }] });
    const bad = await call(`${gw.adminUrl}/reload`, { method: 'POST', headers: auth });
    assert.equal(bad.status, 400);
    assert.match(bad.json().detail as string, /unknown upstream "missing-upstream"/);
    assert.equal((await call(`${gw.url}/v2/x`)).status, 200);
  });
});

describe('gateway load shedding and draining', () => {
  let hanging: TestUpstream;
  const arrivals: (() => void)[] = [];
  const pendingResponses: (() => void)[] = [];

  before(async () => {
    hanging = await startUpstream((_, respond) => {
      pendingResponses.push(() => respond(200));
      arrivals.shift()?.();
    });
  });

  after(() => hanging.close());

  it('sheds with 503 and Retry-After beyond maxInflight, and serves again after', async () => {
    const gw = await Gateway.start({
      listen: 0,
      metrics: false,
      shedding: { maxInflight: 1, retryAfter: '2s' },
      routes: [{ path: '/*', upstream: hanging.url }],
    });
    try {
      const arrived = new Promise<void>((r) => arrivals.push(r));
      const first = call(`${gw.url}/a`);
      await arrived;
      const shed = await call(`${gw.url}/b`);
      assert.equal(shed.status, 503);
      assert.equal(shed.headers['retry-after'], '2');
      assert.equal(shed.json().type, 'urn:sluice:problem:overloaded');
      pendingResponses.shift()!();
      assert.equal((await first).status, 200);
      const again = call(`${gw.url}/c`);
      await new Promise<void>((r) => arrivals.push(r));
      pendingResponses.shift()!();
      assert.equal((await again).status, 200);
    } finally {
      await gw.close();
    }
  });

  it('finishes in-flight requests on the configuration they started with across a reload', async () => {
    const gw = await Gateway.start({
      listen: 0,
      metrics: false,
      routes: [{ name: 'old', path: '/*', upstream: hanging.url }],
    });
    try {
      const arrived = new Promise<void>((r) => arrivals.push(r));
      const inflight = call(`${gw.url}/before-reload`);
      await arrived;
      await gw.reload({
        listen: 0,
        metrics: false,
        routes: [{ name: 'new', path: '/new/*', upstream: hanging.url }],
      });
      assert.equal((await call(`${gw.url}/before-reload`)).status, 404);
      pendingResponses.shift()!();
      assert.equal((await inflight).status, 200);
    } finally {
      await gw.close();
    }
  });

  it('drains in-flight requests on close and refuses new connections', async () => {
    const gw = await Gateway.start({
      listen: 0,
      metrics: false,
      routes: [{ path: '/*', upstream: hanging.url }],
    });
    const url = gw.url;
    const arrived = new Promise<void>((r) => arrivals.push(r));
    const inflight = call(`${url}/slow`);
    await arrived;
    const closing = gw.close();
    await assert.rejects(call(`${url}/new`));
    pendingResponses.shift()!();
    const reply = await inflight;
    assert.equal(reply.status, 200);
    await closing;
  });
});
