import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  BulkheadFullError,
  CircuitOpenError,
  isSluiceError,
  LoadShedError,
  RateLimitedError,
  SluiceError,
} from '../../src/core/errors.js';
import { loadGatewayConfig } from '../../src/gateway/config-file.js';
import { HttpProblemError } from '../../src/gateway/errors.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { errorToResponse, problemResponse } from '../../src/gateway/problem.js';
import { waitFor } from '../support/wait-for.js';
import { call, configProblems, type Reply, startUpstream, type TestUpstream } from './helpers.js';

/** An upstream that answers `/held…` only when told to, and everything else at once. */
async function holdingUpstream() {
  const held: ServerResponse[] = [];
  const arrivals: (() => void)[] = [];
  const upstream = await startUpstream();
  upstream.server.removeAllListeners('request');
  upstream.server.on('request', (req, res) => {
    req.resume();
    if (req.url?.startsWith('/held')) held.push(res);
    else res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    arrivals.shift()?.();
  });
  return {
    upstream,
    nextArrival: () => new Promise<void>((resolve) => arrivals.push(resolve)),
    releaseAll: () => {
      for (const res of held.splice(0)) res.writeHead(200).end('done');
    },
  };
}

/** Sends `count` requests that the upstream holds, and resolves once all have arrived. */
async function fill(url: string, count: number, nextArrival: () => Promise<void>) {
  const replies: Promise<Reply>[] = [];
  for (let i = 0; i < count; i++) {
    const arrived = nextArrival();
    replies.push(call(url));
    await arrived;
  }
  return replies;
}

function assertRetryLater(reply: Reply, status: number, type: string, seconds = '1'): void {
  assert.equal(reply.status, status, reply.text);
  assert.equal(reply.json().type, `urn:sluice:problem:${type}`);
  assert.equal(reply.headers['retry-after'], seconds, `${type}: Retry-After`);
}

describe('gateway under overload', () => {
  let slow: Awaited<ReturnType<typeof holdingUpstream>>;
  let other: TestUpstream;
  let gw: Gateway;

  before(async () => {
    slow = await holdingUpstream();
    other = await startUpstream();
    gw = await Gateway.start({
      listen: 0,
      upstreams: {
        slow: {
          targets: [slow.upstream.url],
          resilience: { concurrency: { initial: 2, min: 1, max: 2, retryAfter: '3s', queue: 0 } },
        },
        other: { targets: [other.url] },
        bare: { targets: [other.url], resilience: { concurrency: false } },
        bulk: { targets: [slow.upstream.url], resilience: { bulkhead: 1 } },
      },
      routes: [
        { name: 'slow', path: '/held/*', upstream: 'slow' },
        { name: 'slow-too', path: '/also/*', upstream: 'slow' },
        {
          name: 'own',
          path: '/own/*',
          upstream: 'slow',
          resilience: { concurrency: { initial: 5, min: 1 } },
        },
        { name: 'healthz', path: '/healthz', upstream: 'other' },
        { name: 'bare', path: '/bare', upstream: 'bare' },
        {
          name: 'unlimited',
          path: '/unlimited',
          upstream: 'other',
          resilience: { concurrency: false },
        },
        { name: 'bulk', path: '/held-bulk', upstream: 'bulk' },
        {
          name: 'limited',
          path: '/limited',
          upstream: 'other',
          rateLimit: { by: 'ip', limit: '1/min' },
        },
      ],
    });
  });

  after(async () => {
    slow.releaseAll();
    await gw.close();
    await Promise.all([slow.upstream.close(), other.close()]);
  });

  it('gives every upstream its own adaptive limit, shared by its routes', () => {
    const policies = gw.runtime.policies;
    const limitOf = (route: string) => policies.get(route)?.concurrency;
    assert.ok(limitOf('slow') && limitOf('healthz'));
    assert.equal(limitOf('slow'), limitOf('slow-too'), 'one limit per upstream');
    assert.notEqual(limitOf('slow'), limitOf('healthz'), 'never one limit across upstreams');
    assert.equal(limitOf('slow')!.name, 'slow');
    assert.equal(limitOf('own')!.name, 'own', 'a route that configures one has its own');
    assert.notEqual(limitOf('own'), limitOf('slow'));
    assert.equal(limitOf('bare'), undefined, 'concurrency: false on the upstream');
    assert.equal(limitOf('unlimited'), undefined, 'concurrency: false on the route');
    assert.deepEqual(limitOf('slow')!.stats(), { limit: 2, inflight: 0, queued: 0, shed: 0 });
  });

  it("refuses an upstream's excess at once with 503 + Retry-After; other upstreams answer", async () => {
    const held = await fill(`${gw.url}/held/a`, 2, slow.nextArrival);
    assert.equal(gw.runtime.policies.get('slow')!.concurrency!.stats().inflight, 2);
    assertRetryLater(await call(`${gw.url}/held/b`), 503, 'overloaded', '3');
    assertRetryLater(await call(`${gw.url}/also/b`), 503, 'overloaded', '3');
    assert.equal((await call(`${gw.url}/own/x`)).status, 200, "a route's own limit has room");
    assert.equal((await call(`${gw.url}/healthz`)).status, 200, 'another upstream is unaffected');
    slow.releaseAll();
    for (const reply of await Promise.all(held)) assert.equal(reply.status, 200);
    assert.equal((await call(`${gw.url}/also/c`)).status, 200, 'the slots are free again');
    assert.equal(gw.runtime.policies.get('slow')!.concurrency!.stats().shed, 2);
  });

  it('answers a full bulkhead and a rate limit with Retry-After', async () => {
    const held = await fill(`${gw.url}/held-bulk`, 1, slow.nextArrival);
    assertRetryLater(await call(`${gw.url}/held-bulk`), 503, 'upstream-busy');
    slow.releaseAll();
    await Promise.all(held);
    assert.equal((await call(`${gw.url}/limited`)).status, 200);
    const limited = await call(`${gw.url}/limited`);
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers['retry-after']) >= 1, 'rate limit: Retry-After');
  });
});

describe("an adaptive limit's queue", () => {
  let slow: Awaited<ReturnType<typeof holdingUpstream>>;
  let fast: TestUpstream;
  let gw: Gateway;
  let atOnce = 0;
  let mostAtOnce = 0;

  before(async () => {
    slow = await holdingUpstream();
    fast = await startUpstream((_, respond) => {
      mostAtOnce = Math.max(mostAtOnce, ++atOnce);
      // Long enough for the callers to pile up past the limit at the gateway.
      setTimeout(() => {
        atOnce--;
        respond(200, {}, 'ok');
      }, 20);
    });
    const limit = { initial: 2, min: 1, max: 2, queue: 1 };
    gw = await Gateway.start({
      listen: 0,
      upstreams: {
        pinned: { targets: [fast.url], resilience: { concurrency: { min: 16, max: 16 } } },
        stuck: {
          targets: [slow.upstream.url],
          resilience: { concurrency: { ...limit, failFast: '100ms' } },
        },
        moving: { targets: [slow.upstream.url], resilience: { concurrency: limit } },
      },
      routes: [
        { name: 'pinned', path: '/pinned', upstream: 'pinned' },
        { name: 'stuck', path: '/held/stuck', upstream: 'stuck' },
        { name: 'moving', path: '/held/moving', upstream: 'moving' },
      ],
      // The gateway-wide shedder judges the process's event loop, not these limits.
      shedding: false,
    });
  });

  after(async () => {
    slow.releaseAll();
    await gw.close();
    await Promise.all([slow.upstream.close(), fast.close()]);
  });

  const stats = (route: string) => gw.runtime.policies.get(route)!.concurrency!.stats();

  it('serves callers past the limit from its queue, the upstream never seeing more than the limit', async () => {
    const statuses: number[] = [];
    const caller = async (): Promise<void> => {
      for (let i = 0; i < 5; i++) statuses.push((await call(`${gw.url}/pinned`)).status);
    };
    await Promise.all(Array.from({ length: 64 }, caller));
    assert.deepEqual(new Set(statuses), new Set([200]));
    assert.equal(statuses.length, 320);
    assert.ok(mostAtOnce <= 16, `the upstream saw ${mostAtOnce} requests at once`);
    assert.equal(stats('pinned').shed, 0);
  });

  it('admits a waiting request when a call ends', async () => {
    const held = await fill(`${gw.url}/held/moving`, 2, slow.nextArrival);
    const arrived = slow.nextArrival();
    const waiting = call(`${gw.url}/held/moving`);
    await waitFor('the request to queue', () => stats('moving').queued === 1);
    assert.equal(stats('moving').inflight, 2);
    slow.releaseAll();
    await arrived;
    slow.releaseAll();
    for (const reply of [...(await Promise.all(held)), await waiting]) {
      assert.equal(reply.status, 200);
    }
    assert.equal(stats('moving').shed, 0);
  });

  it('refuses at once past a full queue, and the whole queue once no call has ended for failFast', async () => {
    const held = await fill(`${gw.url}/held/stuck`, 2, slow.nextArrival);
    const waiting = call(`${gw.url}/held/stuck`);
    await waitFor('the request to queue', () => stats('stuck').queued === 1);
    assertRetryLater(await call(`${gw.url}/held/stuck`), 503, 'overloaded');
    assertRetryLater(await waiting, 503, 'overloaded');
    assert.deepEqual(stats('stuck'), { limit: 2, inflight: 2, queued: 0, shed: 2 });
    slow.releaseAll();
    for (const reply of await Promise.all(held)) assert.equal(reply.status, 200);
  });
});

describe('Retry-After on every refusal', () => {
  const retryAfter = (status: number, headers: Record<string, unknown>) => ({
    status,
    retryAfter: headers['retry-after'],
  });

  it('maps each refusal to 503 or 429 with Retry-After, its own hint when it has one', () => {
    const cases: [unknown, number, string][] = [
      [new BulkheadFullError(), 503, '1'],
      [new CircuitOpenError('open', { retryAfter: 4_200 }), 503, '5'],
      [new CircuitOpenError('open'), 503, '1'],
      [new LoadShedError('shed', { retryAfter: 2_000 }), 503, '2'],
      [new LoadShedError('shed'), 503, '1'],
      [new RateLimitedError('limited', { retryAfter: 10 }), 429, '1'],
      [new RateLimitedError('limited'), 429, '1'],
      [new SluiceError('SLUICE_GATEWAY_NO_TARGET', 'none'), 503, '1'],
      [new HttpProblemError(503, 'auth-unavailable', 'down'), 503, '1'],
      [new HttpProblemError(429, 'custom', 'slow down', { 'retry-after': '7' }), 429, '7'],
    ];
    for (const [error, status, seconds] of cases) {
      const response = errorToResponse(error, 'r1');
      assert.deepEqual(
        retryAfter(response.status, response.headers),
        { status, retryAfter: seconds },
        String(error),
      );
    }
  });

  it('adds Retry-After to any 503 or 429 problem, and to nothing else', () => {
    assert.equal(problemResponse(503, 'x', 'y').headers['retry-after'], '1');
    assert.equal(problemResponse(429, 'x', 'y').headers['retry-after'], '1');
    assert.equal(problemResponse(502, 'x', 'y').headers['retry-after'], undefined);
    assert.equal(problemResponse(404, 'x', 'y').headers['retry-after'], undefined);
  });
});

describe('overload configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-gw-overload-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('names a bad concurrency setting and the retired shedding.adaptive', async () => {
    const file = join(dir, 'gateway.yaml');
    writeFileSync(
      file,
      [
        'version: 1',
        'gateway:',
        '  shedding: { maxInflight: 100, adaptive: true }',
        '  upstreams:',
        '    a: { targets: [http://127.0.0.1:1], resilience: { concurrency: { buffer: lots } } }',
        '  routes:',
        '    - { path: /a, upstream: a, resilience: { concurrency: true } }',
        '',
      ].join('\n'),
    );
    const problems = await configProblems(loadGatewayConfig(file));
    assert.equal(problems.length, 3, problems.join('\n'));
    assert.match(problems[0]!, /^3 gateway\.shedding/);
    assert.match(problems[1]!, /^5 gateway\.upstreams\.a\.resilience\.concurrency/);
    assert.match(problems[2]!, /^7 gateway\.routes\[0\]\.resilience\.concurrency/);
  });

  it('refuses inconsistent bounds, naming the upstream, and fills the others from them', async () => {
    const start = (concurrency: object) =>
      Gateway.start({
        listen: 0,
        upstreams: { a: { targets: ['http://127.0.0.1:1'], resilience: { concurrency } } },
        routes: [{ path: '/a', upstream: 'a' }],
      });
    await assert.rejects(
      start({ min: 10, max: 5 }),
      (e) => isSluiceError(e, 'SLUICE_INVALID_ARGUMENT') && /"a": concurrency/.test(e.message),
    );
    const gw = await start({ max: 50 });
    try {
      assert.equal(gw.runtime.policies.get('route0')?.concurrency?.stats().limit, 50);
    } finally {
      await gw.close();
    }
  });
});
