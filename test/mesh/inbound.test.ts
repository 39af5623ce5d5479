import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { Registry } from 'prom-client';
import type { WorkloadIdentity } from '../../src/mesh/contract.js';
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

interface Answer {
  status: number;
  body: string;
}

/** One HTTPS call to a sidecar's inbound side, presenting `client` (or no certificate). */
function call(
  port: number,
  client: WorkloadIdentity | undefined,
  trust: string,
  options: { path?: string; method?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: options.path ?? '/',
        method: options.method ?? 'GET',
        headers: options.headers ?? {},
        ca: trust,
        ...(client ? { key: client.keyPem, cert: client.certPem } : {}),
        checkServerIdentity: () => undefined,
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('sidecar inbound: mTLS admission and authorization', () => {
  let dir: string;
  let ca: TestMeshCa;
  let app: TestApp;
  let sidecar: Sidecar;
  let port: number;
  let control: StubControl;
  let fulfillment: WorkloadIdentity;
  let orders: WorkloadIdentity;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-mesh-in-'));
    ca = makeMeshCa(dir, 'mesh');
    fulfillment = issueSvid(ca, [idOf('fulfillment')]);
    orders = issueSvid(ca, [idOf('orders')]);
    app = await startApp();
    control = new StubControl(new StubRegistry(), issueSvid(ca, [idOf('payment')]));
    control.policy = {
      authorization: {
        default: 'deny',
        rules: [
          {
            name: 'fulfillment-charges',
            from: ['fulfillment'],
            action: 'allow',
            pathPrefix: '/charges',
          },
          {
            name: 'no-refunds',
            from: ['fulfillment'],
            action: 'deny',
            pathPrefix: '/charges/refund',
          },
          {
            name: 'anyone-health',
            from: ['*'],
            action: 'allow',
            methods: ['GET'],
            path: '/healthz',
          },
        ],
      },
    };
    sidecar = new Sidecar({
      service: 'payment',
      control,
      appPort: app.port,
      listen: { host: '127.0.0.1', port: 0 },
      registry: new Registry(),
    });
    port = (await sidecar.start()).inbound;
  });

  after(async () => {
    await sidecar.stop();
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lets an authorized peer in and tells the app who called, dropping a forged header', async () => {
    const before = app.seen.length;
    const answer = await call(port, fulfillment, ca.rootPem, {
      method: 'POST',
      path: '/charges',
      headers: { 'x-sluice-peer-identity': idOf('admin'), 'content-length': '0' },
    });
    assert.equal(answer.status, 200);
    assert.equal(JSON.parse(answer.body).peer, idOf('fulfillment'));
    assert.equal(app.seen.length, before + 1);
    assert.equal(app.seen.at(-1)!['x-sluice-peer-identity'], idOf('fulfillment'));
  });

  it('answers a denied identity 403 naming the rule, and the app never sees it', async () => {
    const before = app.seen.length;
    const denied = await call(port, orders, ca.rootPem, { path: '/charges' });
    assert.equal(denied.status, 403);
    const problem = JSON.parse(denied.body);
    assert.equal(problem.type, 'urn:sluice:problem:forbidden');
    assert.equal(problem.rule, 'default');
    const refund = await call(port, fulfillment, ca.rootPem, { path: '/charges/refund/1' });
    assert.equal(refund.status, 403);
    assert.equal(JSON.parse(refund.body).rule, 'no-refunds');
    assert.equal(app.seen.length, before);
    const health = await call(port, orders, ca.rootPem, { path: '/healthz' });
    assert.equal(health.status, 200);
  });

  it('refuses a peer with no certificate', async () => {
    await assert.rejects(call(port, undefined, ca.rootPem));
  });

  it('refuses an expired mesh certificate', async () => {
    const expired = issueSvid(ca, [idOf('fulfillment')], { days: -1 });
    await assert.rejects(call(port, expired, ca.rootPem, { path: '/charges' }));
  });

  it('refuses a certificate from another CA', async () => {
    const other = makeMeshCa(dir, 'other');
    const stranger = issueSvid(other, [idOf('fulfillment')]);
    await assert.rejects(call(port, stranger, ca.rootPem, { path: '/charges' }));
  });

  it('refuses an SVID of another trust domain, or with two URI SANs, even from our CA', async () => {
    const before = app.seen.length;
    const foreign = issueSvid(ca, [idOf('fulfillment', 'evil.test')]);
    await assert.rejects(call(port, foreign, ca.rootPem, { path: '/charges' }));
    const twoIds = issueSvid(ca, [idOf('fulfillment'), idOf('admin')]);
    await assert.rejects(call(port, twoIds, ca.rootPem, { path: '/charges' }));
    const noId = issueSvid(ca, []);
    await assert.rejects(call(port, noId, ca.rootPem, { path: '/charges' }));
    assert.equal(app.seen.length, before);
  });

  it('survives garbage bytes and a TLS client that hangs up mid-handshake', async () => {
    await new Promise<void>((resolve) => {
      const socket = netConnect(port, '127.0.0.1', () => {
        socket.end(Buffer.from('GET / HTTP/1.1\r\n\r\n\x00\xff garbage \x16\x03\x01'));
      });
      socket.on('error', () => resolve());
      socket.on('close', () => resolve());
    });
    await new Promise<void>((resolve) => {
      const socket = tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false });
      socket.on('error', () => resolve());
      socket.on('close', () => resolve());
      setImmediate(() => socket.destroy());
    });
    // A mesh peer speaking garbage after the handshake gets an error answer, not a crash.
    await new Promise<void>((resolve) => {
      const socket = tlsConnect({
        port,
        host: '127.0.0.1',
        key: fulfillment.keyPem,
        cert: fulfillment.certPem,
        ca: ca.rootPem,
        checkServerIdentity: () => undefined,
      });
      socket.on('secureConnect', () => socket.write('\x00\x01 NOT HTTP\r\n\r\n'));
      socket.on('data', () => {});
      socket.on('error', () => resolve());
      socket.on('close', () => resolve());
    });
    const answer = await call(port, fulfillment, ca.rootPem, {
      method: 'POST',
      path: '/charges',
      headers: { 'content-length': '0' },
    });
    assert.equal(answer.status, 200);
  });

  it('reports ready on the admin port once started', async () => {
    const admin = sidecar.addresses.admin;
    const ready = await fetch(`http://127.0.0.1:${admin}/ready`);
    assert.equal(ready.status, 200);
    const health = await fetch(`http://127.0.0.1:${admin}/healthz`);
    assert.equal(health.status, 200);
    const metrics = await (await fetch(`http://127.0.0.1:${admin}/metrics`)).text();
    assert.match(
      metrics,
      /sluice_mesh_authorization_denied_total\{peer="orders",rule="default"\} 1/,
    );
    assert.match(
      metrics,
      /sluice_mesh_requests_total\{direction="inbound",upstream="payment",route="fulfillment-charges",peer="fulfillment",status_class="2xx"\}/,
    );
  });

  it('keeps its policy when the control plane sends a bad one, and takes a good one', async () => {
    control.pushPolicy({ authorization: { default: 'maybe' } });
    const still = await call(port, orders, ca.rootPem, { path: '/charges' });
    assert.equal(still.status, 403);
    control.pushPolicy({ authorization: { default: 'allow' } });
    const now = await call(port, orders, ca.rootPem, { path: '/charges' });
    assert.equal(now.status, 200);
  });
});
