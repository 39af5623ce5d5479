import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { leastRequest } from '../../src/gateway/balancer.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { Upstream } from '../../src/gateway/upstream.js';
import { waitFor } from '../support/wait-for.js';
import { call, startUpstream, type TestUpstream } from './helpers.js';

describe('upstream health', () => {
  let good: TestUpstream;
  let sick: TestUpstream;
  let sickHealthy = false;

  before(async () => {
    good = await startUpstream();
    sick = await startUpstream((seen, respond) => {
      if (seen.url === '/healthz') respond(sickHealthy ? 200 : 500);
      else respond(500, {}, 'sick');
    });
  });

  after(async () => {
    await good.close();
    await sick.close();
  });

  it('takes a target out after failed active health checks and back after passes', async () => {
    const gw = await Gateway.start({
      listen: 0,
      metrics: false,
      upstreams: {
        pair: {
          targets: [good.url, sick.url],
          outlier: false,
          healthCheck: {
            path: '/healthz',
            interval: '20ms',
            unhealthyThreshold: 1,
            healthyThreshold: 1,
          },
        },
      },
      routes: [{ path: '/*', upstream: 'pair' }],
    });
    try {
      const [, sickTarget] = gw.runtime.upstreams.get('pair')!.targets;
      await waitFor('the sick target to be marked unhealthy', () => !sickTarget!.healthy);
      const before = sick.seen.filter((s) => s.url !== '/healthz').length;
      for (let i = 0; i < 6; i++) assert.equal((await call(`${gw.url}/x`)).status, 200);
      assert.equal(sick.seen.filter((s) => s.url !== '/healthz').length, before);
      sickHealthy = true;
      await waitFor('the target to be healthy again', () => sickTarget!.healthy);
      const statuses = new Set<number>();
      for (let i = 0; i < 4; i++) statuses.add((await call(`${gw.url}/x`)).status);
      assert.ok(statuses.has(500), 'the recovered target serves again');
    } finally {
      sickHealthy = false;
      await gw.close();
    }
  });

  it('ejects a target after consecutive failures (passive outlier detection)', async () => {
    const gw = await Gateway.start({
      listen: 0,
      metrics: false,
      upstreams: {
        pair: {
          targets: [good.url, sick.url],
          outlier: { consecutiveFailures: 2, ejection: '1m' },
        },
      },
      routes: [{ path: '/*', upstream: 'pair' }],
    });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) statuses.push((await call(`${gw.url}/x`)).status);
      assert.equal(statuses.filter((s) => s === 500).length, 2, statuses.join());
      assert.deepEqual(statuses.slice(-6), [200, 200, 200, 200, 200, 200]);
    } finally {
      await gw.close();
    }
  });

  it('never ejects the last target, and says 503 when every target is unhealthy', async () => {
    const upstream = new Upstream({ name: 'u', targets: ['http://127.0.0.1:1'] });
    for (let i = 0; i < 10; i++) upstream.report(upstream.targets[0]!, false);
    assert.equal(upstream.pick(), upstream.targets[0]);
    upstream.targets[0]!.healthy = false;
    assert.throws(() => upstream.pick(), /no healthy target/);
    await upstream.close();
  });
});

describe('least-request balancer', () => {
  it('picks the less busy of two random targets', () => {
    const targets = [{ inflight: 5 }, { inflight: 1 }, { inflight: 9 }];
    const sequence = [0.0, 0.4];
    let i = 0;
    const pick = leastRequest(() => sequence[i++ % sequence.length]!);
    // First draw picks index 0, second draw index 1 of the remaining: targets 0 and 1.
    assert.equal(pick(targets), targets[1]);
    const single = [{ inflight: 3 }];
    assert.equal(pick(single), single[0]);
  });
});
