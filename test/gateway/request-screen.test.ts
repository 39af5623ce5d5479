import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hashApiKey } from '../../src/gateway/filters/api-key.js';
import { Gateway } from '../../src/gateway/gateway.js';
import {
  call,
  raw,
  rawSession,
  refusedRaw,
  startUpstream,
  statusOf,
  type TestUpstream,
} from './helpers.js';

describe('gateway request screening', () => {
  let upstream: TestUpstream;
  let gw: Gateway;
  let port: number;

  before(async () => {
    upstream = await startUpstream();
    gw = await Gateway.start({
      listen: 0,
      metrics: false,
      auth: { apiKeys: { keys: [{ id: 'app', sha256: hashApiKey('k-1') }] } },
      routes: [
        { path: '/read', methods: ['GET'], upstream: upstream.url },
        {
          path: '/browser',
          methods: ['GET'],
          upstream: upstream.url,
          cors: { origins: ['https://shop.example'] },
        },
        { path: '/form', methods: ['POST'], upstream: upstream.url },
        { path: '/rest', methods: ['POST', 'PUT'], upstream: upstream.url, methodOverride: true },
        { path: '/small', upstream: upstream.url, body: { maxBytes: 1024 } },
        { path: '/secure', upstream: upstream.url, auth: 'apiKey' },
        { path: '/*', methods: ['GET'], upstream: upstream.url },
      ],
    });
    port = gw.address.port;
  });

  after(async () => {
    await gw.close();
    await upstream.close();
  });

  const refused = (payload: string, status: number): Promise<string> =>
    refusedRaw(gw.url, upstream, payload, status);

  it('answers 400 to a duplicate or invalid Host (RFC 9112 section 3.2)', async () => {
    const text = await refused(
      'GET /a HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n',
      400,
    );
    assert.match(text, /bad-host/);
    await refused('GET /a HTTP/1.1\r\nHost: a.example\r\nhost: a.example\r\n\r\n', 400);
    await refused('GET /a HTTP/1.1\r\nHost: a.example/evil\r\n\r\n', 400);
    await refused('GET /a HTTP/1.1\r\nHost: a b\r\n\r\n', 400);
    await refused('GET /a HTTP/1.1\r\nHost: user@a.example\r\n\r\n', 400);
    for (const host of ['a.example', 'a.example:8080', '[::1]:8080', '127.0.0.1']) {
      const text = await raw(port, `GET /a HTTP/1.1\r\nHost: ${host}\r\nconnection: close\r\n\r\n`);
      assert.equal(statusOf(text), 200, host);
    }
  });

  it('answers 400 to a path that is not UTF-8 and forwards nothing', async () => {
    const text = await refused('GET /%C0%AE%C0%AE/etc HTTP/1.1\r\nHost: x\r\n\r\n', 400);
    assert.match(text, /not valid UTF-8/);
    await refused('GET /files/a%C0%AFb HTTP/1.1\r\nHost: x\r\n\r\n', 400);
    await refused('GET /%ED%A0%80 HTTP/1.1\r\nHost: x\r\n\r\n', 400);
  });

  it('drops header names with underscores', async () => {
    const reply = await call(`${gw.url}/echo`, {
      headers: { X_User_Id: 'admin', 'x-user_role': 'root', 'x-kept': 'yes' },
    });
    const seen = reply.json().headers as Record<string, string>;
    assert.equal(seen.x_user_id, undefined);
    assert.equal(seen['x-user_role'], undefined);
    assert.equal(seen['x-kept'], 'yes');
  });

  it('never serves TRACE, even on a route open to every method', async () => {
    const text = await refused('TRACE /secure HTTP/1.1\r\nHost: x\r\n\r\n', 405);
    assert.match(text, /allow: GET, HEAD, POST/i);
  });

  it("holds OPTIONS to a route's methods; a preflight is answered where cors is set", async () => {
    await refused('OPTIONS /read HTTP/1.1\r\nHost: x\r\n\r\n', 405);
    // Dressed as a preflight on a route without cors: still an OPTIONS, still not allowed.
    await refused(
      'OPTIONS /read HTTP/1.1\r\nHost: x\r\norigin: https://shop.example\r\naccess-control-request-method: GET\r\n\r\n',
      405,
    );
    const text = await refused(
      'OPTIONS /browser HTTP/1.1\r\nHost: x\r\norigin: https://shop.example\r\naccess-control-request-method: GET\r\n\r\n',
      204,
    );
    assert.match(text, /access-control-allow-methods: GET/i);
    await refused('OPTIONS /browser HTTP/1.1\r\nHost: x\r\n\r\n', 405);
  });

  it('strips method-override headers unless the route allows them', async () => {
    const reply = await call(`${gw.url}/form`, {
      method: 'POST',
      headers: {
        'x-http-method-override': 'DELETE',
        'x-http-method': 'DELETE',
        'x-method-override': 'DELETE',
      },
    });
    assert.equal(reply.status, 200);
    const seen = reply.json().headers as Record<string, string>;
    assert.equal(seen['x-http-method-override'], undefined);
    assert.equal(seen['x-http-method'], undefined);
    assert.equal(seen['x-method-override'], undefined);
  });

  it("holds an allowed override to the route's methods", async () => {
    const put = await call(`${gw.url}/rest`, {
      method: 'POST',
      headers: { 'x-http-method-override': 'PUT' },
    });
    assert.equal(put.status, 200);
    assert.equal((put.json().headers as Record<string, string>)['x-http-method-override'], 'PUT');
    await refused(
      'POST /rest HTTP/1.1\r\nHost: x\r\nx-http-method-override: DELETE\r\ncontent-length: 0\r\n\r\n',
      405,
    );
    await refused(
      'POST /rest HTTP/1.1\r\nHost: x\r\nx-method-override: TRACE\r\ncontent-length: 0\r\n\r\n',
      405,
    );
  });

  it('answers Expect: 100-continue with 413 when the declared body is over the limit', async () => {
    const text = await refused(
      'POST /small HTTP/1.1\r\nHost: x\r\nexpect: 100-continue\r\ncontent-length: 10485760\r\n\r\n',
      413,
    );
    assert.doesNotMatch(text, /100 Continue/);
  });

  it('answers Expect: 100-continue with 401 before the body when credentials are missing', async () => {
    const text = await refused(
      'POST /secure HTTP/1.1\r\nHost: x\r\nexpect: 100-continue\r\ncontent-length: 5\r\n\r\n',
      401,
    );
    assert.doesNotMatch(text, /100 Continue/);
  });

  it('sends 100 Continue once the body is wanted, then forwards it', async () => {
    const { socket, until } = rawSession(port);
    socket.write(
      'POST /small HTTP/1.1\r\nHost: x\r\nexpect: 100-continue\r\ncontent-length: 5\r\nconnection: close\r\n\r\n',
    );
    await until(/^HTTP\/1\.1 100 Continue\r\n\r\n/);
    socket.write('hello');
    await until(/HTTP\/1\.1 200 OK[\s\S]*"body":"hello"/);
    socket.destroy();
  });
});

describe('gateway with underscoreHeaders: allow', () => {
  it('forwards header names with underscores', async () => {
    const upstream = await startUpstream();
    const gw = await Gateway.start({
      listen: 0,
      metrics: false,
      underscoreHeaders: 'allow',
      routes: [{ path: '/*', upstream: upstream.url }],
    });
    try {
      const reply = await call(`${gw.url}/echo`, { headers: { X_Legacy_Token: 't' } });
      assert.equal((reply.json().headers as Record<string, string>).x_legacy_token, 't');
    } finally {
      await gw.close();
      await upstream.close();
    }
  });
});
