import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { hashApiKey } from '../../src/gateway/filters/api-key.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { call, startUpstream, type TestUpstream } from './helpers.js';

interface Keys {
  privateKey: CryptoKey;
  jwk: JWK;
}

async function keys(kid: string): Promise<Keys> {
  const pair = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(pair.publicKey)), kid, alg: 'RS256', use: 'sig' };
  return { privateKey: pair.privateKey, jwk };
}

function sign(
  k: Keys,
  claims: Record<string, unknown> = {},
  options: { exp?: string | number; nbf?: string | number; iss?: string } = {},
): Promise<string> {
  const jwt = new SignJWT({ scope: 'orders', ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: k.jwk.kid! })
    .setSubject('alice')
    .setIssuer(options.iss ?? 'storefront')
    .setAudience('api')
    .setIssuedAt()
    .setExpirationTime(options.exp ?? '5m');
  if (options.nbf !== undefined) jwt.setNotBefore(options.nbf);
  return jwt.sign(k.privateKey);
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('gateway auth', () => {
  let upstream: TestUpstream;
  let jwks: Server;
  let jwksUrl: string;
  let published: JWK[] = [];
  let jwksFetches = 0;
  let jwksDown = false;
  let k1: Keys;
  let k2: Keys;
  let gw: Gateway;

  before(async () => {
    k1 = await keys('k1');
    k2 = await keys('k2');
    published = [k1.jwk];
    jwks = createServer((_, res) => {
      jwksFetches++;
      if (jwksDown) {
        res.writeHead(500).end();
        return;
      }
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ keys: published }));
    });
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
    jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
    upstream = await startUpstream();
    gw = await Gateway.start({
      listen: 0,
      auth: {
        jwt: {
          jwks: jwksUrl,
          algorithms: ['RS256'],
          issuer: 'storefront',
          audience: 'api',
          clockSkew: '5s',
          jwksCooldown: 0,
          forwardClaims: { sub: 'x-user-id', scope: 'x-user-scope' },
        },
        apiKeys: { keys: [{ id: 'mobile-app', sha256: hashApiKey('s3cret-key') }] },
      },
      routes: [
        { path: '/public/*', upstream: upstream.url, auth: 'none' },
        { path: '/api/*', upstream: upstream.url, auth: 'jwt' },
        { path: '/partner/*', upstream: upstream.url, auth: ['jwt', 'apiKey'] },
      ],
    });
  });

  after(async () => {
    await gw.close();
    await upstream.close();
    jwks.closeAllConnections();
    await new Promise<void>((r) => jwks.close(() => r()));
  });

  const api = async (token: string | null, path = '/api/orders') =>
    call(
      `${gw.url}${path}`,
      token === null ? {} : { headers: { authorization: `Bearer ${token}` } },
    );

  /** Asserts a 401 problem and that the upstream saw nothing. */
  async function refused(token: string | null, expected = 401): Promise<Record<string, unknown>> {
    const seen = upstream.seen.length;
    const reply = await api(token);
    assert.equal(reply.status, expected, reply.text);
    assert.equal(reply.headers['content-type'], 'application/problem+json');
    assert.equal(upstream.seen.length, seen, 'the upstream must not see the request');
    return reply.json();
  }

  it('admits a valid token and forwards its claims as headers', async () => {
    const reply = await api(await sign(k1));
    assert.equal(reply.status, 200);
    const seen = reply.json() as { headers: Record<string, string> };
    assert.equal(seen.headers['x-user-id'], 'alice');
    assert.equal(seen.headers['x-user-scope'], 'orders');
  });

  it('forwards a claim outside ASCII percent-encoded, and drops one with a line break', async () => {
    const reply = await api(await sign(k1, { scope: 'commandes d\u2019\u00e9t\u00e9 \u{1F4E6}' }));
    assert.equal(reply.status, 200, reply.text);
    const seen = reply.json() as { headers: Record<string, string> };
    assert.equal(
      decodeURIComponent(seen.headers['x-user-scope'] ?? ''),
      'commandes d\u2019\u00e9t\u00e9 \u{1F4E6}',
    );
    const broken = await api(await sign(k1, { scope: 'orders\r\nx-admin: yes' }));
    assert.equal(broken.status, 200, broken.text);
    const headers = (broken.json() as { headers: Record<string, string> }).headers;
    assert.equal(headers['x-user-scope'], undefined);
    assert.equal(headers['x-admin'], undefined);
  });

  it('strips forged claim headers, on public routes too', async () => {
    const reply = await call(`${gw.url}/public/x`, { headers: { 'x-user-id': 'admin' } });
    assert.equal(reply.status, 200);
    assert.equal(
      (reply.json() as { headers: Record<string, string> }).headers['x-user-id'],
      undefined,
    );
  });

  it('refuses a missing token with a Bearer challenge', async () => {
    await refused(null);
    assert.equal((await api(null)).headers['www-authenticate'], 'Bearer');
  });

  it('refuses alg none, garbage and a token signed by an unknown key', async () => {
    const none = `${b64({ alg: 'none', kid: 'k1' })}.${b64({ sub: 'root', iss: 'storefront', aud: 'api', exp: 9e9 })}.`;
    await refused(none);
    await refused('not.a.token');
    const forged = await sign({ privateKey: k2.privateKey, jwk: { ...k1.jwk } });
    const problem = await refused(forged);
    assert.equal(problem.type, 'urn:sluice:problem:invalid-token');
  });

  it('refuses HS256 signed with the public key as secret (algorithm confusion)', async () => {
    const secret = new TextEncoder().encode(JSON.stringify(k1.jwk));
    const token = await new SignJWT({ sub: 'root' })
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .setIssuer('storefront')
      .setAudience('api')
      .setExpirationTime('5m')
      .sign(secret);
    await refused(token);
  });

  it('refuses expired, not-yet-valid, wrong-issuer tokens', async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await refused(await sign(k1, {}, { exp: now - 60 }));
    assert.match(String(expired.detail), /expired/);
    await refused(await sign(k1, {}, { nbf: now + 600 }));
    await refused(await sign(k1, {}, { iss: 'someone-else' }));
  });

  it('refetches the JWKS for an unknown kid, so rotated keys work', async () => {
    published = [k1.jwk, k2.jwk];
    const before = jwksFetches;
    const reply = await api(await sign(k2));
    assert.equal(reply.status, 200);
    assert.ok(jwksFetches > before);
  });

  it('answers 503 when the JWKS is down for an unknown kid, and keeps serving known ones', async () => {
    const k3 = await keys('k3');
    jwksDown = true;
    try {
      const problem = await refused(await sign(k3), 503);
      assert.equal(problem.type, 'urn:sluice:problem:auth-unavailable');
      assert.equal((await api(await sign(k1))).status, 200);
    } finally {
      jwksDown = false;
    }
  });

  it('accepts a hashed API key and refuses a wrong one', async () => {
    const ok = await call(`${gw.url}/partner/x`, { headers: { 'x-api-key': 's3cret-key' } });
    assert.equal(ok.status, 200);
    assert.equal(
      (ok.json() as { headers: Record<string, string> }).headers['x-api-key'],
      undefined,
    );
    const seen = upstream.seen.length;
    const bad = await call(`${gw.url}/partner/x`, { headers: { 'x-api-key': 'guess' } });
    assert.equal(bad.status, 401);
    assert.equal(upstream.seen.length, seen);
  });

  it('cannot be bypassed with path tricks', async () => {
    const seen = upstream.seen.length;
    for (const path of [
      '/public/../api/orders',
      '/public/%2e%2e/api/orders',
      '/public%2F..%2Fapi/orders',
      '/public/%252e%252e/api/orders',
    ]) {
      const reply = await call(`${gw.url}${path}`);
      assert.ok(reply.status === 400 || reply.status === 401, `${path} -> ${reply.status}`);
    }
    assert.equal(upstream.seen.length, seen);
  });
});
