import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isConfigError } from '../../src/core/errors.js';
import type { GatewayConfig } from '../../src/gateway/config.js';
import { loadGatewayConfig } from '../../src/gateway/config-file.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { configProblems, startUpstream, type TestUpstream } from './helpers.js';
import { httpsCall, makeCertificate, type TestCertificate } from './tls-helpers.js';

describe('gateway over TLS', () => {
  let dir: string;
  let upstream: TestUpstream;
  let first: TestCertificate;
  let second: TestCertificate;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-gw-tls-'));
    first = makeCertificate(dir, 'first');
    second = makeCertificate(dir, 'second');
    upstream = await startUpstream();
  });

  after(async () => {
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A config file in the test's directory: `lines` go under `gateway:`, before the routes. */
  const writeConfig = (name: string, lines: string): string => {
    const file = join(dir, name);
    const routes = `  routes:\n    - { path: /*, upstream: ${upstream.url} }\n`;
    writeFileSync(file, `version: 1\ngateway:\n  listen: 0\n${lines}${routes}`);
    return file;
  };

  const secured = (extra: Partial<GatewayConfig> = {}): GatewayConfig => ({
    listen: 0,
    metrics: false,
    tls: { cert: 'first.pem', key: 'first.key' },
    routes: [{ path: '/*', upstream: upstream.url }],
    ...extra,
  });

  it('serves HTTPS to a plain HTTP upstream and tells it the client used https', async () => {
    const gw = await Gateway.start(secured(), { baseDir: dir });
    try {
      assert.match(gw.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const reply = await httpsCall(`${gw.url}/orders?id=7`, first.cert);
      assert.equal(reply.status, 200);
      assert.equal(reply.fingerprint, first.fingerprint);
      const seen = upstream.seen.at(-1)!;
      assert.equal(seen.url, '/orders?id=7');
      assert.equal(seen.headers['x-forwarded-proto'], 'https');
      assert.match(String(seen.headers.forwarded), /;proto=https;/);
    } finally {
      await gw.close();
    }
  });

  it('reads the PEM files relative to the configuration file', async () => {
    const file = writeConfig(
      'sluice.yaml',
      '  accessLog: false\n  tls: { cert: first.pem, key: first.key, minVersion: TLSv1.3 }\n',
    );
    const config = await loadGatewayConfig(file);
    const gw = await Gateway.start(config, { baseDir: dirname(file) });
    try {
      assert.equal((await httpsCall(`${gw.url}/`, first.cert)).status, 200);
    } finally {
      await gw.close();
    }
  });

  it('refuses to start when a certificate file is missing, naming the key and the file', async () => {
    const config = secured({ tls: { cert: 'missing.pem', key: 'first.key' } });
    await assert.rejects(Gateway.start(config, { baseDir: dir }), (error: unknown) => {
      assert.ok(isConfigError(error));
      assert.deepEqual(
        error.problems.map((p) => [p.path, p.file, p.message]),
        [['gateway.tls.cert', join(dir, 'missing.pem'), 'file not found']],
      );
      assert.match(error.message, /missing\.pem gateway\.tls\.cert: file not found/);
      return true;
    });
  });

  it('refuses a certificate with the wrong key', async () => {
    const config = secured({ tls: { cert: 'first.pem', key: 'second.key' } });
    await assert.rejects(Gateway.start(config, { baseDir: dir }), (error: unknown) => {
      assert.ok(isConfigError(error));
      assert.equal(error.problems[0]!.path, 'gateway.tls');
      assert.match(error.problems[0]!.message, /the certificate and key do not load/);
      return true;
    });
  });

  it('refuses http2 without tls, in the file and from code', async () => {
    const file = writeConfig('h2c.yaml', '  http2: true\n');
    assert.deepEqual(await configProblems(loadGatewayConfig(file)), [
      '4 gateway.http2: expected tls to be set too: HTTP/2 is served over TLS only (got true)',
    ]);
    await assert.rejects(
      Gateway.start({ ...secured(), tls: undefined, http2: true }),
      (error: unknown) => isConfigError(error) && error.problems[0]!.path === 'gateway.http2',
    );
  });

  it('serves a new certificate to new connections after a reload, and keeps it on a bad one', async () => {
    const rotating = { cert: join(dir, 'live.pem'), key: join(dir, 'live.key') };
    copyFileSync(first.certFile, rotating.cert);
    copyFileSync(first.keyFile, rotating.key);
    const config = secured({ tls: rotating });
    const gw = await Gateway.start(config, { load: async () => config });
    try {
      assert.equal((await httpsCall(`${gw.url}/`, first.cert)).fingerprint, first.fingerprint);
      copyFileSync(second.certFile, rotating.cert);
      copyFileSync(second.keyFile, rotating.key);
      await gw.reload();
      const reply = await httpsCall(`${gw.url}/`, second.cert);
      assert.equal(reply.status, 200);
      assert.equal(reply.fingerprint, second.fingerprint);

      await assert.rejects(
        gw.reload(secured({ tls: { ...rotating, key: join(dir, 'gone.key') } })),
        isConfigError,
      );
      await assert.rejects(gw.reload(secured({ tls: undefined })), /takes a restart/);
      assert.equal((await httpsCall(`${gw.url}/`, second.cert)).fingerprint, second.fingerprint);
    } finally {
      await gw.close();
    }
  });

  it('keeps the header limit over TLS', async () => {
    const gw = await Gateway.start(secured({ limits: { maxHeaderSize: '2kb' } }), { baseDir: dir });
    try {
      const reply = await httpsCall(`${gw.url}/`, first.cert, {
        headers: { 'x-big': 'a'.repeat(4096) },
      });
      assert.equal(reply.status, 431);
    } finally {
      await gw.close();
    }
  });
});
