import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { isSluiceError } from '../../src/core/errors.js';
import type { MeshEndpoint, WorkloadIdentity } from '../../src/mesh/contract.js';
import { MeshControlClient, renewalDelay, type Scheduler } from '../../src/mesh/control/client.js';
import { ControlPlane, type ControlPlaneOptions } from '../../src/mesh/control/control-plane.js';
import { waitFor } from '../support/wait-for.js';
import { nextValue, quiet, tempDir, trustDomain } from './support.js';

function startPlane(dir: string, options: Partial<ControlPlaneOptions> = {}) {
  return ControlPlane.start({
    store: join(dir, 'mesh.db'),
    storePrefix: 'meshctl',
    caDir: join(dir, 'ca'),
    trustDomain,
    logger: quiet,
    ...options,
  });
}

const endpoint = (instance: string, port = 7001): MeshEndpoint => ({
  service: 'payment',
  instance,
  address: `127.0.0.1:${port}`,
  labels: { version: 'v1' },
  healthy: true,
});

async function clientOf(plane: ControlPlane, service = 'payment', extra: object = {}) {
  const token = await plane.ca.tokens.bootstrap(service, { instance: `${service}-0` });
  return MeshControlClient.connect({ url: plane.url, token, service, trustDomain, ...extra });
}

const instancesOf = (list: readonly MeshEndpoint[]) => list.map((e) => e.instance).join(',');

/** Resolves once the watch of `service` shows exactly `expected` (instances, comma-separated). */
function seen(client: MeshControlClient, service: string, expected: string) {
  return nextValue<readonly MeshEndpoint[], true>(
    (listener) => client.watch(service, listener),
    (list) => (instancesOf(list) === expected ? true : undefined),
  );
}

async function call(
  plane: ControlPlane,
  method: string,
  path: string,
  token?: string,
  body?: unknown,
) {
  const response = await fetch(plane.url + path, {
    method,
    headers: {
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      'content-type': 'application/json',
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    type: response.headers.get('content-type'),
    body: text ? JSON.parse(text) : null,
  };
}

describe('mesh control plane: the API', () => {
  it('answers bad calls with problem+json and a stable SLUICE_ code, changing nothing', async () => {
    const plane = await startPlane(tempDir());
    try {
      const payment = await plane.ca.tokens.bootstrap('payment', { instance: 'payment-0' });
      const path = '/v1/services/payment/instances/payment-0';
      const cases: [string, string, string | undefined, unknown, number, string][] = [
        [
          'no token',
          'PUT',
          undefined,
          { address: '127.0.0.1:1' },
          401,
          'SLUICE_MESH_TOKEN_INVALID',
        ],
        [
          'forged token',
          'PUT',
          `${payment}x`,
          { address: '127.0.0.1:1' },
          401,
          'SLUICE_MESH_TOKEN_INVALID',
        ],
        ['bad address', 'PUT', payment, { address: 'nowhere' }, 400, 'SLUICE_INVALID_ARGUMENT'],
        ['not JSON', 'PUT', payment, '{', 400, 'SLUICE_INVALID_ARGUMENT'],
        [
          'oversized',
          'PUT',
          payment,
          { address: '127.0.0.1:1', pad: 'x'.repeat(20_000) },
          400,
          'SLUICE_INVALID_ARGUMENT',
        ],
        [
          'heartbeat, never registered',
          'POST',
          payment,
          undefined,
          404,
          'SLUICE_MESH_NOT_REGISTERED',
        ],
        ['CSR not PEM', 'POST', payment, { csr: 'x' }, 400, 'SLUICE_MESH_CSR_INVALID'],
        ['wrong method', 'PATCH', payment, undefined, 405, 'SLUICE_METHOD_NOT_ALLOWED'],
      ];
      for (const [what, method, token, body, status, code] of cases) {
        const target = what.startsWith('heartbeat')
          ? `${path}/heartbeat`
          : what.startsWith('CSR')
            ? '/v1/identity'
            : path;
        const answer = await call(plane, method, target, token, body);
        assert.equal(answer.status, status, what);
        assert.equal(answer.type, 'application/problem+json', what);
        assert.equal(answer.body.code, code, what);
      }
      const orders = await plane.ca.tokens.bootstrap('orders');
      const forbidden = await call(plane, 'PUT', path, orders, { address: '127.0.0.1:1' });
      assert.equal(forbidden.status, 403);
      assert.equal(forbidden.body.code, 'SLUICE_MESH_FORBIDDEN');
      const otherInstance = await call(
        plane,
        'PUT',
        '/v1/services/payment/instances/payment-1',
        payment,
        { address: '127.0.0.1:1' },
      );
      assert.equal(otherInstance.status, 403, 'a token for payment-0 does not register payment-1');
      assert.deepEqual(
        (await plane.registry.endpoints('payment')).endpoints,
        [],
        'nothing was registered',
      );
      const bundle = await call(plane, 'GET', '/v1/trust-bundle');
      assert.equal(bundle.status, 200);
      assert.match(bundle.body.trustBundle, /BEGIN CERTIFICATE/);
      const metrics = await (await fetch(`${plane.url}/metrics`)).text();
      assert.match(
        metrics,
        /sluice_mesh_ca_expiry_timestamp_seconds\{certificate="issuer",serial="[0-9a-f]+"\} \d+/,
      );
      assert.match(metrics, /sluice_mesh_ca_expiry_timestamp_seconds\{certificate="anchor"/);
    } finally {
      await plane.close();
    }
  });

  it('long-polls: an unchanged version waits, a registration answers it', async () => {
    const plane = await startPlane(tempDir());
    try {
      const token = await plane.ca.tokens.bootstrap('payment');
      const first = await call(plane, 'GET', '/v1/services/payment/endpoints', token);
      assert.deepEqual(first.body.endpoints, []);
      const waiting = call(
        plane,
        'GET',
        `/v1/services/payment/endpoints?after=${first.body.version}&wait=30`,
        token,
      );
      await plane.registry.register(endpoint('payment-0'));
      const answer = await waiting;
      assert.notEqual(answer.body.version, first.body.version);
      assert.equal(instancesOf(answer.body.endpoints), 'payment-0');
    } finally {
      await plane.close();
    }
  });
});

describe('mesh control plane: registry', () => {
  it('two control planes on one store: a registration through one is seen in the watch of the other', async () => {
    const dir = tempDir();
    const a = await startPlane(dir);
    const b = await startPlane(dir);
    const viaA = await clientOf(a);
    const viaB = await clientOf(b, 'fulfillment');
    try {
      const registered = seen(viaB, 'payment', 'payment-0');
      await viaA.register(endpoint('payment-0'));
      await registered;
      const gone = seen(viaB, 'payment', '');
      await viaA.deregister('payment', 'payment-0');
      await gone;
    } finally {
      await Promise.all([viaA.close(), viaB.close()]);
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('a registration that is not renewed expires and leaves the watch', async () => {
    const plane = await startPlane(tempDir(), { registrationTtlMs: 300 });
    const watcher = await clientOf(plane, 'fulfillment');
    try {
      const token = await plane.ca.tokens.bootstrap('payment', { instance: 'payment-9' });
      const appeared = seen(watcher, 'payment', 'payment-9');
      const put = await call(plane, 'PUT', '/v1/services/payment/instances/payment-9', token, {
        address: '10.0.0.9:7001',
        labels: { version: 'v2' },
      });
      assert.equal(put.status, 200);
      await appeared;
      // No heartbeat follows, as from a host that died.
      await seen(watcher, 'payment', '');
      const beat = await call(
        plane,
        'POST',
        '/v1/services/payment/instances/payment-9/heartbeat',
        token,
      );
      assert.equal(beat.body.code, 'SLUICE_MESH_NOT_REGISTERED');
    } finally {
      await watcher.close();
      await plane.close();
    }
  });

  it('a client heartbeats its registration alive past the TTL', async () => {
    // Time moves by hand on both sides, so a slow machine cannot make a beat come late.
    const clock = new ManualClock(Date.now());
    const plane = await startPlane(tempDir(), { registrationTtlMs: 300, clock });
    const beats: (() => void)[] = [];
    const scheduler: Scheduler = {
      // The SVID renewal is the other timer, hours away.
      setTimeout: (run, delay) => (delay <= 300 ? beats.push(run) : undefined),
      clearTimeout: () => {},
    };
    const client = await clientOf(plane, 'payment', { scheduler });
    try {
      await client.register(endpoint('payment-0'));
      // Read from the store at the clock's time (nothing watches it, so nothing is cached).
      const held = async () => instancesOf((await plane.registry.endpoints('payment')).endpoints);
      // Five beats, each two thirds of a TTL after the last: past three TTLs in all.
      for (let beat = 1; beat <= 5; beat++) {
        clock.advance(200);
        assert.equal(await held(), 'payment-0', `still held before beat ${beat}`);
        beats[beat - 1]!();
        await waitFor(`beat ${beat} to land`, () => beats.length > beat);
      }
      // With no beat, the TTL ends it.
      clock.advance(300);
      assert.equal(await held(), '');
    } finally {
      await client.close();
      await plane.close();
    }
  });

  it('serves each service its policies on the same watch, and a change of them', async () => {
    const plane = await startPlane(tempDir(), {
      policies: { payment: { authorization: { allow: ['fulfillment'] } } },
    });
    const client = await clientOf(plane);
    try {
      const first = await nextValue<unknown, unknown>(
        (l) => client.watchPolicy('payment', l),
        (p) => p ?? undefined,
      );
      assert.deepEqual(first, { authorization: { allow: ['fulfillment'] } });
      const changed = nextValue<unknown, unknown>(
        (l) => client.watchPolicy('payment', l),
        (p) =>
          (p as { authorization?: { allow: string[] } }).authorization?.allow.length === 2
            ? p
            : undefined,
      );
      await plane.registry.setPolicies({
        payment: { authorization: { allow: ['fulfillment', 'orders'] } },
      });
      await changed;
    } finally {
      await client.close();
      await plane.close();
    }
  });
});

describe('mesh control client', () => {
  it('keeps its identity and last endpoints while the control plane is down, and catches up after', async () => {
    const dir = tempDir();
    let plane = await startPlane(dir, { registrationTtlMs: 1500 });
    const port = Number(new URL(plane.url).port);
    const errors: unknown[] = [];
    const client = await clientOf(plane, 'fulfillment', {
      onError: (e: unknown) => errors.push(e),
    });
    // The sidecar's own watches, open throughout.
    const stops = [client.watch('payment', () => {}), client.watch('fulfillment', () => {})];
    try {
      await plane.registry.register(endpoint('payment-0'));
      await seen(client, 'payment', 'payment-0');
      await plane.close();
      // A new subscriber gets the last known set at once, and the identity is still there.
      let immediate: string | undefined;
      client.watch('payment', (list) => (immediate ??= instancesOf(list)))();
      assert.equal(immediate, 'payment-0');
      assert.match(client.identity().certPem, /BEGIN CERTIFICATE/);
      const own: MeshEndpoint = { ...endpoint('fulfillment-0'), service: 'fulfillment' };
      await assert.rejects(client.register(own), (e) =>
        isSluiceError(e, 'SLUICE_MESH_CONTROL_UNAVAILABLE'),
      );
      plane = await startPlane(dir, { port, registrationTtlMs: 1500 });
      // The watch reconnects, and a heartbeat makes the registration the outage refused.
      await seen(client, 'fulfillment', 'fulfillment-0');
      assert.ok(errors.length > 0, 'the outage was reported');
    } finally {
      for (const stop of stops) stop();
      await client.close();
      await plane.close();
    }
  });

  it('renews at 70 % of the remaining life (injected clock), and keeps the identity when renewal fails', async () => {
    const plane = await startPlane(tempDir());
    const clock = new ManualClock(Date.now());
    const scheduled: { delay: number; run: () => void }[] = [];
    const scheduler: Scheduler = {
      setTimeout: (run, delay) => scheduled.push({ delay, run }),
      clearTimeout: () => {},
    };
    const client = await clientOf(plane, 'payment', { clock, scheduler });
    try {
      const first = client.identity();
      const life = first.notAfter.getTime() - clock.now();
      assert.equal(scheduled.length, 1);
      assert.equal(scheduled[0]!.delay, Math.floor(life * 0.7));
      assert.ok(
        Math.abs(scheduled[0]!.delay - 0.7 * 24 * 3600_000) < 60_000,
        '≈16.8 h for a fresh 24 h SVID',
      );
      clock.advance(scheduled[0]!.delay);
      const renewed = new Promise<WorkloadIdentity>((resolve) => client.onIdentity(resolve));
      scheduled[0]!.run();
      const second = await renewed;
      assert.notEqual(second.certPem, first.certPem);
      assert.equal(second.keyPem, first.keyPem, 'renewal keeps the key');
      // The next renewal is again 70 % of what the new SVID has left, by the injected clock.
      assert.equal(scheduled[1]!.delay, renewalDelay(second.notAfter.getTime(), clock.now()));
      await plane.close();
      clock.advance(3600_000);
      await assert.rejects(client.renew());
      assert.equal(client.identity().certPem, second.certPem, 'the last identity stays');
      assert.equal(scheduled.at(-1)!.delay, renewalDelay(second.notAfter.getTime(), clock.now()));
    } finally {
      await client.close();
    }
  });

  it('an anchor rotation reaches the client as a new trust bundle with both roots', async () => {
    const plane = await startPlane(tempDir());
    const client = await clientOf(plane);
    const stop = client.watch('payment', () => {});
    try {
      await seen(client, 'payment', '');
      const rotated = nextValue<WorkloadIdentity, string>(
        (l) => client.onIdentity(l),
        (identity) => identity.trustBundlePem,
      );
      await plane.rotateAnchor();
      const bundle = await rotated;
      assert.equal(bundle.match(/BEGIN CERTIFICATE/g)?.length, 2);
    } finally {
      stop();
      await client.close();
      await plane.close();
    }
  });
});
