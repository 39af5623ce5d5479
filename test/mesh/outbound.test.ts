import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect } from 'node:tls';
import { Registry } from 'prom-client';
import { request } from 'undici';
import { Sidecar } from '../../src/mesh/sidecar/sidecar.js';
import {
  idOf,
  issueSvid,
  makeMeshCa,
  StubControl,
  StubRegistry,
  startApp,
  type TestApp,
  type TestMeshCa,
} from './helpers.js';

interface Instance {
  app: TestApp;
  sidecar: Sidecar;
  control: StubControl;
  /** Answers 503 while set. */
  failing: boolean;
  delayMs: number;
  hits: number;
}

describe('sidecar outbound: balancing, ejection, retries, renewal, splits', () => {
  let dir: string;
  let ca: TestMeshCa;
  let registry: StubRegistry;
  const started: { stop(): Promise<void> }[] = [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-mesh-out-'));
    ca = makeMeshCa(dir, 'mesh');
  });

  after(async () => {
    for (const s of started.reverse()) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh registry per test, so instances of one test never serve another. */
  async function payments(count: number, version = (_i: number) => 'v1'): Promise<Instance[]> {
    registry = new StubRegistry();
    const out: Instance[] = [];
    for (let i = 0; i < count; i++) {
      const instance = { failing: false, delayMs: 0, hits: 0 } as Instance;
      instance.app = await startApp((_req, res) => {
        instance.hits++;
        const answer = (): void => {
          res.writeHead(instance.failing ? 503 : 200, { 'content-type': 'text/plain' });
          res.end(`payment-${i}`);
        };
        if (instance.delayMs > 0) setTimeout(answer, instance.delayMs);
        else answer();
      });
      instance.control = new StubControl(registry, issueSvid(ca, [idOf('payment')]));
      instance.sidecar = new Sidecar({
        service: 'payment',
        instance: `payment-${i}`,
        labels: { version: version(i) },
        control: instance.control,
        appPort: instance.app.port,
        listen: { host: '127.0.0.1', port: 0 },
        registry: new Registry(),
      });
      await instance.sidecar.start();
      started.push(instance.sidecar, { stop: () => instance.app.close() });
      out.push(instance);
    }
    return out;
  }

  async function client(
    policy: unknown = {},
    now?: () => number,
  ): Promise<{ url: string; sidecar: Sidecar; control: StubControl; metrics: Registry }> {
    const control = new StubControl(registry, issueSvid(ca, [idOf('fulfillment')]));
    control.policy = policy;
    const metrics = new Registry();
    const app = await startApp();
    const sidecar = new Sidecar({
      service: 'fulfillment',
      control,
      appPort: app.port,
      listen: { host: '127.0.0.1', port: 0 },
      upstreams: [{ name: 'payment', port: 0 }],
      registry: metrics,
      ...(now === undefined ? {} : { now }),
    });
    const addresses = await sidecar.start();
    started.push(sidecar, { stop: () => app.close() });
    return { url: `http://127.0.0.1:${addresses.upstreams.payment}`, sidecar, control, metrics };
  }

  async function get(url: string, method = 'GET', headers: Record<string, string> = {}) {
    const res = await request(url, { method: method as 'GET', headers });
    const body = await res.body.text();
    return { status: res.statusCode, body, headers: res.headers };
  }

  it('carries a call across two sidecars with the caller identity and trace context', async () => {
    const [payment] = await payments(1);
    const { url } = await client();
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const answer = await get(`${url}/charges?x=1`, 'GET', { traceparent });
    assert.equal(answer.status, 200);
    const seen = payment!.app.seen.at(-1)!;
    assert.equal(seen['x-sluice-peer-identity'], idOf('fulfillment'));
    assert.match(String(seen.traceparent), /^00-0af7651916cd43dd8448eb211c80319c-/);
  });

  it('sends a slow endpoint a small share (P2C over peak-EWMA)', async () => {
    const instances = await payments(3);
    // Far slower than a loaded machine makes a fast answer: peak-EWMA keeps every spike.
    instances[2]!.delayMs = 500;
    const { url } = await client();
    const total = 150;
    let next = 0;
    await Promise.all(
      Array.from({ length: 2 }, async () => {
        while (next++ < total) assert.equal((await get(url)).status, 200);
      }),
    );
    const hits = instances.map((i) => i.hits);
    const share = hits[2]! / hits.reduce((a, b) => a + b, 0);
    // Uniform balancing would give it a third.
    assert.ok(share < 0.12, `slow endpoint share ${share.toFixed(3)} (hits ${hits.join(', ')})`);
  });

  it('ejects a failing endpoint, then takes it back once its ejection time is over', async () => {
    const instances = await payments(2);
    const bad = instances[0]!;
    bad.failing = true;
    // Failing fast makes it the cheaper endpoint: P2C alone would keep choosing it.
    instances[1]!.delayMs = 10;
    let skew = 0;
    const now = (): number => performance.now() + skew;
    const { url, metrics } = await client(
      {
        policies: {
          payment: {
            outlierDetection: { consecutiveErrors: 3, ejectionTime: '10s' },
            breaker: { consecutiveFailures: 1000 },
          },
        },
      },
      now,
    );
    const ejected = /sluice_mesh_outlier_ejections_total\{upstream="payment"\} 1/;
    for (let i = 0; i < 40 && !ejected.test(await metrics.metrics()); i++) await get(url);
    assert.match(await metrics.metrics(), ejected);
    assert.equal(bad.hits, 3);
    for (let i = 0; i < 10; i++) assert.equal((await get(url)).status, 200);
    assert.equal(bad.hits, 3, 'an ejected endpoint gets no traffic');
    bad.failing = false;
    skew += 10_001;
    for (let i = 0; i < 10 && bad.hits === 3; i++) assert.equal((await get(url)).status, 200);
    assert.ok(bad.hits > 3, 'the endpoint is back once its ejection time is over');
  });

  it('caps retries with the budget during an outage, and never retries a POST that was sent', async () => {
    const instances = await payments(2);
    for (const i of instances) i.failing = true;
    // The sidecar's time stands still: all the calls fall in one budget window, however
    // long a loaded machine takes to make them.
    const frozen = performance.now();
    const { url, metrics } = await client(
      {
        policies: {
          payment: {
            retry: { attempts: 5, budget: '20%', minPerSecond: 1, budgetWindow: '10s', delay: 0 },
            outlierDetection: { consecutiveErrors: 100000 },
            breaker: { consecutiveFailures: 100000 },
          },
        },
      },
      () => frozen,
    );
    const calls = 100;
    for (let i = 0; i < calls; i++) assert.equal((await get(url)).status, 503);
    const attempts = instances.reduce((n, i) => n + i.hits, 0);
    // 20% of 100 calls plus a floor of 1/s over 10 s; without a budget: 500 attempts.
    assert.ok(attempts > calls, `some retries were made (${attempts})`);
    assert.ok(attempts <= calls + 0.2 * calls + 10, `attempts ${attempts} within the budget`);
    const text = await metrics.metrics();
    assert.match(text, /sluice_mesh_retry_budget_exhausted_total\{upstream="payment"\} [1-9]/);
    const before = instances.reduce((n, i) => n + i.hits, 0);
    assert.equal((await get(url, 'POST')).status, 503);
    assert.equal(
      instances.reduce((n, i) => n + i.hits, 0),
      before + 1,
    );
  });

  it('loses no request while both sides renew their identity under steady traffic', async () => {
    const [payment] = await payments(1);
    const { url, control } = await client();
    let stop = false;
    let ok = 0;
    const failures: string[] = [];
    const loops = Array.from({ length: 4 }, async () => {
      while (!stop) {
        try {
          const answer = await get(url);
          if (answer.status === 200) ok++;
          else failures.push(String(answer.status));
        } catch (error) {
          failures.push(String(error));
        }
      }
    });
    let renewed = issueSvid(ca, [idOf('payment')]);
    for (let round = 0; round < 3; round++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      renewed = issueSvid(ca, [idOf('payment')]);
      payment!.control.renew(renewed);
      control.renew(issueSvid(ca, [idOf('fulfillment')]));
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    stop = true;
    await Promise.all(loops);
    assert.deepEqual(failures, []);
    assert.ok(ok > 0);
    // A new connection is served with the renewed certificate.
    const port = payment!.sidecar.addresses.inbound;
    const client2 = issueSvid(ca, [idOf('fulfillment')]);
    const presented = await new Promise<string>((resolve, reject) => {
      const socket = connect({
        port,
        host: '127.0.0.1',
        key: client2.keyPem,
        cert: client2.certPem,
        ca: ca.rootPem,
        checkServerIdentity: () => undefined,
      });
      socket.on('secureConnect', () => {
        resolve(socket.getPeerCertificate().fingerprint256);
        socket.destroy();
      });
      socket.on('error', reject);
    });
    const { X509Certificate } = await import('node:crypto');
    assert.equal(presented, new X509Certificate(renewed.certPem).fingerprint256);
  });

  it('splits by version weight and swaps the split atomically on a policy update', async () => {
    const instances = await payments(2, (i) => `v${i + 1}`);
    const { url, control } = await client({
      policies: {
        payment: {
          split: [
            { version: 'v1', weight: 100 },
            { version: 'v2', weight: 0 },
          ],
        },
      },
    });
    for (let i = 0; i < 10; i++) assert.equal((await get(url)).body, 'payment-0');
    control.pushPolicy({
      policies: {
        payment: {
          split: [
            { version: 'v1', weight: 0 },
            { version: 'v2', weight: 1 },
          ],
        },
      },
    });
    for (let i = 0; i < 10; i++) assert.equal((await get(url)).body, 'payment-1');
    // A bad policy is refused whole: the split stays.
    control.pushPolicy({ policies: { payment: { split: [{ version: 'v1', weight: 0 }] } } });
    assert.equal((await get(url)).body, 'payment-1');
    assert.equal(instances[0]!.hits, 10);
  });

  it('answers 503 with no endpoint, and refuses a peer that is not the upstream', async () => {
    registry = new StubRegistry();
    const { url } = await client();
    const none = await get(url);
    assert.equal(none.status, 503);
    assert.equal(JSON.parse(none.body).type, 'urn:sluice:problem:no-healthy-endpoint');
    // An "orders" sidecar registered under payment's name is not payment.
    const app = await startApp();
    const impostor = new Sidecar({
      service: 'orders',
      control: new StubControl(new StubRegistry(), issueSvid(ca, [idOf('orders')])),
      appPort: app.port,
      listen: { host: '127.0.0.1', port: 0 },
      registry: new Registry(),
    });
    const port = (await impostor.start()).inbound;
    started.push(impostor, { stop: () => app.close() });
    registry.put({
      service: 'payment',
      instance: 'fake',
      address: `127.0.0.1:${port}`,
      labels: {},
      healthy: true,
    });
    const refused = await get(url);
    assert.equal(refused.status, 502);
    assert.equal(app.seen.length, 0);
  });
});
