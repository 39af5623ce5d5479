import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TLSSocket } from 'node:tls';
import type { GatewayConfig } from '../../src/gateway/config.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { capturedLogger, type Line } from '../support/captured-logger.js';
import { startUpstream, type TestUpstream } from './helpers.js';
import { httpsCall, makeCertificate, type TestCertificate } from './tls-helpers.js';

const served = (l: Line) => String(l.msg).startsWith('certificate files changed; serving');
const refused = (l: Line) => String(l.msg).startsWith('certificate files changed but do not load');

/** One request on `agent`, with the certificate it was served and the local port it used. */
function viaAgent(url: string, agent: Agent, ca: string) {
  return new Promise<{ status: number; fingerprint: string; port: number }>((resolve, reject) => {
    const req = request(url, { agent, ca }, (res) => {
      const socket = res.socket as TLSSocket;
      const reply = {
        status: res.statusCode ?? 0,
        fingerprint: socket.getPeerCertificate().fingerprint256,
        port: socket.localPort ?? 0,
      };
      res.resume();
      res.on('end', () => resolve(reply));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Puts a certificate and key in place as deployment tools do: written aside, renamed over. */
function install(from: TestCertificate, live: { cert: string; key: string }): void {
  copyFileSync(from.certFile, `${live.cert}.tmp`);
  copyFileSync(from.keyFile, `${live.key}.tmp`);
  renameSync(`${live.cert}.tmp`, live.cert);
  renameSync(`${live.key}.tmp`, live.key);
}

describe('gateway certificate files watched', () => {
  let dir: string;
  let upstream: TestUpstream;
  let first: TestCertificate;
  let second: TestCertificate;
  let both: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-gw-certwatch-'));
    first = makeCertificate(dir, 'first');
    second = makeCertificate(dir, 'second');
    both = first.cert + second.cert;
    upstream = await startUpstream();
  });

  after(async () => {
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const config = (live: { cert: string; key: string }): GatewayConfig => ({
    listen: 0,
    metrics: false,
    tls: live,
    routes: [{ path: '/*', upstream: upstream.url }],
  });

  it('serves new files to new connections, keeps open ones, and keeps the old on a bad file', async () => {
    const liveDir = mkdtempSync(join(dir, 'live-'));
    const live = { cert: join(liveDir, 'tls.pem'), key: join(liveDir, 'tls.key') };
    install(first, live);
    const log = capturedLogger();
    const gw = await Gateway.start(config(live), { logger: log.logger });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const kept = await viaAgent(`${gw.url}/`, agent, both);
      assert.equal(kept.fingerprint, first.fingerprint);

      install(second, live);
      await log.next(served);
      const fresh = await httpsCall(`${gw.url}/`, second.cert);
      assert.equal(fresh.status, 200);
      assert.equal(fresh.fingerprint, second.fingerprint);
      // The connection made before the swap is still open and still on the old certificate.
      const again = await viaAgent(`${gw.url}/`, agent, both);
      assert.equal(again.status, 200);
      assert.equal(again.port, kept.port);
      assert.equal(again.fingerprint, first.fingerprint);

      writeFileSync(live.cert, '-----BEGIN CERTIFICATE-----\ntruncated\n');
      const why = await log.next(refused);
      assert.match(String(why.err), /tls\.pem/);
      const after = await httpsCall(`${gw.url}/`, second.cert);
      assert.equal(after.status, 200);
      assert.equal(after.fingerprint, second.fingerprint);
    } finally {
      agent.destroy();
      await gw.close();
    }
  });

  it('watches the files a reload names', async () => {
    const aDir = mkdtempSync(join(dir, 'a-'));
    const bDir = mkdtempSync(join(dir, 'b-'));
    const a = { cert: join(aDir, 'tls.pem'), key: join(aDir, 'tls.key') };
    const b = { cert: join(bDir, 'tls.pem'), key: join(bDir, 'tls.key') };
    install(first, a);
    install(first, b);
    const log = capturedLogger();
    const gw = await Gateway.start(config(a), { logger: log.logger });
    try {
      await gw.reload(config(b));
      install(second, b);
      assert.equal((await log.next(served)).cert, b.cert);
      assert.equal((await httpsCall(`${gw.url}/`, second.cert)).fingerprint, second.fingerprint);
    } finally {
      await gw.close();
    }
  });

  it('makes no watcher when told not to, one per directory otherwise', async () => {
    const watchers = () =>
      process.getActiveResourcesInfo().filter((r) => r === 'FSEventWrap').length;
    const liveDir = mkdtempSync(join(dir, 'count-'));
    const live = { cert: join(liveDir, 'tls.pem'), key: join(liveDir, 'tls.key') };
    install(first, live);
    // Watchers closed by earlier tests are listed until the loop has run their close.
    await new Promise((resolve) => setImmediate(resolve));
    const before = watchers();
    const unwatched = await Gateway.start(config(live), { watchCertificates: false });
    try {
      assert.equal(watchers(), before);
      const watched = await Gateway.start(config(live));
      try {
        assert.equal(watchers(), before + 1);
      } finally {
        await watched.close();
      }
    } finally {
      await unwatched.close();
    }
  });
});
