import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isConfigError } from '../../src/core/errors.js';
import type { ClientCertConfig, GatewayConfig } from '../../src/gateway/config.js';
import { loadGatewayConfig } from '../../src/gateway/config-file.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { configProblems, startUpstream, type TestUpstream } from './helpers.js';
import {
  type ClientCertificate,
  h2Call,
  h2Connect,
  httpsCall,
  makeAuthority,
  makeCertificate,
  makeClientCertificate,
  makeServerCertificate,
  type TestCertificate,
} from './tls-helpers.js';

describe('gateway with client certificates (mTLS)', () => {
  let dir: string;
  let upstream: TestUpstream;
  let server: TestCertificate;
  let alice: ClientCertificate;
  let bob: ClientCertificate;
  let stranger: ClientCertificate;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-gw-mtls-'));
    server = makeCertificate(dir, 'server');
    const clients = makeAuthority(dir, 'clients-ca');
    const other = makeAuthority(dir, 'other-ca');
    alice = makeClientCertificate(dir, 'alice', clients, '/O=Storefront/CN=alice');
    bob = makeClientCertificate(dir, 'bob', clients, '/O=Storefront/CN=bob');
    // Same subject as alice, from a CA the gateway does not trust.
    stranger = makeClientCertificate(dir, 'stranger', other, '/O=Storefront/CN=alice');
    upstream = await startUpstream();
  });

  after(async () => {
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const config = (
    clientCert: Partial<ClientCertConfig>,
    extra: Partial<GatewayConfig> = {},
  ): GatewayConfig => ({
    listen: 0,
    metrics: false,
    tls: {
      cert: server.certFile,
      key: server.keyFile,
      clientCert: { ca: join(dir, 'clients-ca.pem'), ...clientCert },
    },
    routes: [{ path: '/*', upstream: upstream.url }],
    ...extra,
  });

  const withGateway = async (
    gatewayConfig: GatewayConfig,
    use: (url: string) => Promise<void>,
  ): Promise<void> => {
    const gw = await Gateway.start(gatewayConfig, { watchCertificates: false });
    try {
      await use(gw.url);
    } finally {
      await gw.close();
    }
  };

  const get = (url: string, client?: ClientCertificate, headers: Record<string, string> = {}) =>
    httpsCall(url, server.cert, { headers, ...(client ? { client } : {}) });

  it('require: refuses a client without a certificate or with one from another CA', async () => {
    await withGateway(config({ mode: 'require' }), async (url) => {
      await assert.rejects(get(`${url}/`), /certificate required|ECONNRESET|socket hang up/);
      await assert.rejects(get(`${url}/`, stranger), /ECONNRESET|socket hang up|alert/);
      const before = upstream.seen.length;
      const reply = await get(`${url}/`, alice);
      assert.equal(reply.status, 200);
      assert.equal(upstream.seen.length, before + 1, 'only the good client reached the upstream');
    });
  });

  it('forwards the verified subject only when configured, never a client-sent one', async () => {
    await withGateway(config({}), async (url) => {
      await get(`${url}/`, alice, { 'x-client-subject': 'CN=mallory' });
      const seen = upstream.seen.at(-1)!.headers;
      assert.equal(seen['x-client-subject'], 'CN=mallory', 'not configured: passed as any header');
      assert.ok(
        !Object.values(seen).some((v) => String(v).includes('CN=alice')),
        'the subject went upstream without being asked for',
      );
    });
    await withGateway(config({ subjectHeader: 'X-Client-Subject' }), async (url) => {
      await get(`${url}/`, alice, { 'x-client-subject': 'CN=mallory' });
      assert.equal(upstream.seen.at(-1)!.headers['x-client-subject'], 'CN=alice,O=Storefront');
    });
  });

  it('request: serves a client without a certificate anonymously, refuses a bad one', async () => {
    await withGateway(
      config({ mode: 'request', subjectHeader: 'x-client-subject' }),
      async (url) => {
        const anonymous = await get(`${url}/`, undefined, { 'x-client-subject': 'CN=alice' });
        assert.equal(anonymous.status, 200);
        assert.equal(upstream.seen.at(-1)!.headers['x-client-subject'], undefined);

        assert.equal((await get(`${url}/`, bob)).status, 200);
        assert.equal(upstream.seen.at(-1)!.headers['x-client-subject'], 'CN=bob,O=Storefront');

        const before = upstream.seen.length;
        await assert.rejects(get(`${url}/`, stranger), /ECONNRESET|socket hang up/);
        assert.equal(upstream.seen.length, before);
      },
    );
  });

  it('identifies an HTTP/2 client by its session certificate', async () => {
    const h2 = config({ subjectHeader: 'x-client-subject' }, { http2: true });
    await withGateway(h2, async (url) => {
      const session = await h2Connect(url, server.cert, alice);
      try {
        for (const path of ['/one', '/two']) {
          const reply = await h2Call(session, { ':path': path, 'x-client-subject': 'CN=bob' });
          assert.equal(reply.status, 200);
          assert.equal(upstream.seen.at(-1)!.url, path);
          assert.equal(upstream.seen.at(-1)!.headers['x-client-subject'], 'CN=alice,O=Storefront');
        }
      } finally {
        session.close();
      }
    });
  });

  it('counts rate limits by certificate subject, and anonymous clients by address', async () => {
    const limited = config(
      { mode: 'request' },
      {
        routes: [
          { path: '/*', upstream: upstream.url, rateLimit: { by: 'clientCert', limit: '1/min' } },
        ],
      },
    );
    await withGateway(limited, async (url) => {
      assert.equal((await get(`${url}/`, alice)).status, 200);
      assert.equal((await get(`${url}/`, alice)).status, 429);
      assert.equal((await get(`${url}/`, bob)).status, 200, 'bob has an allowance of his own');
      assert.equal((await get(`${url}/`)).status, 200, 'the anonymous client is counted by IP');
      assert.equal((await get(`${url}/`)).status, 429);
    });
  });

  it("sends the chain's CAs with the certificate but trusts only clientCert.ca for clients", async () => {
    const root = makeAuthority(dir, 'server-root');
    const intermediate = makeAuthority(dir, 'server-intermediate', root);
    const leaf = makeServerCertificate(dir, 'chained', intermediate);
    const signedByChain = makeClientCertificate(dir, 'chain-client', intermediate, '/CN=alice');
    // The whole chain, root included, as CA bundles often come.
    const bundle = join(dir, 'server-chain.pem');
    writeFileSync(bundle, intermediate.cert + root.cert);
    const chained: GatewayConfig = {
      ...config({}),
      tls: {
        cert: leaf.certFile,
        key: leaf.keyFile,
        ca: bundle,
        clientCert: { ca: join(dir, 'clients-ca.pem') },
      },
    };
    await withGateway(chained, async (url) => {
      // A client that trusts only the root can verify the gateway: the intermediate was sent.
      const reply = await httpsCall(`${url}/`, root.cert, { client: alice });
      assert.equal(reply.status, 200);
      await assert.rejects(
        httpsCall(`${url}/`, root.cert, { client: signedByChain }),
        /ECONNRESET|socket hang up|alert/,
      );
    });
  });

  it('refuses to change client certificates to another mode on reload', async () => {
    const gw = await Gateway.start(config({ mode: 'require' }), { watchCertificates: false });
    try {
      await assert.rejects(gw.reload(config({ mode: 'request' })), /takes a restart/);
      const plain = { ...config({}), tls: { cert: server.certFile, key: server.keyFile } };
      await assert.rejects(gw.reload(plain), /takes a restart/);
      await gw.reload(config({ subjectHeader: 'x-client-subject' }));
      await get(`${gw.url}/`, alice);
      assert.equal(upstream.seen.at(-1)!.headers['x-client-subject'], 'CN=alice,O=Storefront');
    } finally {
      await gw.close();
    }
  });

  it('refuses a CA file that is missing or holds no certificate, naming the key', async () => {
    writeFileSync(join(dir, 'empty.pem'), 'not a certificate\n');
    for (const [ca, message] of [
      ['missing.pem', 'file not found'],
      ['empty.pem', 'no PEM certificate in the file'],
    ] as const) {
      await assert.rejects(
        Gateway.start(config({ ca: join(dir, ca) }), { watchCertificates: false }),
        (error: unknown) => {
          assert.ok(isConfigError(error));
          assert.deepEqual(
            error.problems.map((p) => [p.path, p.file, p.message]),
            [['gateway.tls.clientCert.ca', join(dir, ca), message]],
          );
          return true;
        },
      );
    }
  });

  it('explains a bad clientCert section, and a clientCert rate limit without it, by line', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      [
        'version: 1',
        'gateway:',
        '  tls:',
        '    cert: server.pem',
        '    key: server.key',
        '    clientCert: { mode: sometimes, subjectHeader: "x client" }',
        '  routes:',
        `    - { path: /a, upstream: ${upstream.url} }`,
        '',
      ].join('\n'),
    );
    assert.deepEqual(await configProblems(loadGatewayConfig(file)), [
      '6 gateway.tls.clientCert: missing required key "ca"',
      '6 gateway.tls.clientCert.mode: expected one of require, request (got "sometimes")',
      '6 gateway.tls.clientCert.subjectHeader: expected a header name such as x-client-subject (got "x client")',
    ]);
    writeFileSync(
      file,
      [
        'version: 1',
        'gateway:',
        '  tls: { cert: server.pem, key: server.key }',
        '  routes:',
        `    - { path: /a, upstream: ${upstream.url}, rateLimit: { by: clientCert, limit: 5/s } }`,
        '',
      ].join('\n'),
    );
    await assert.rejects(loadGatewayConfig(file), (error: unknown) => {
      assert.ok(isConfigError(error));
      assert.deepEqual(
        error.problems.map((p) => `${p.line} ${p.path}`),
        ['5 gateway.routes[0].rateLimit.by'],
      );
      assert.match(error.problems[0]!.message, /expected tls\.clientCert to be set too/);
      return true;
    });
  });
});
