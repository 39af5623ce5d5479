import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Gateway } from '../../src/gateway/gateway.js';
import { call, raw, startUpstream, statusOf, type TestUpstream } from './helpers.js';

describe('gateway proxying', () => {
  let a: TestUpstream;
  let b: TestUpstream;
  let gw: Gateway;

  before(async () => {
    a = await startUpstream();
    b = await startUpstream((seen, respond) =>
      respond(
        200,
        { 'x-from': 'b', connection: 'keep-alive, x-secret', 'x-secret': '1' },
        JSON.stringify(seen),
      ),
    );
    gw = await Gateway.start({
      listen: '127.0.0.1:0',
      upstreams: {
        both: { targets: [a.url, b.url], balance: 'round-robin' },
        onlyB: { targets: [b.url] },
        dead: { targets: ['http://127.0.0.1:1'] },
      },
      routes: [
        { name: 'users', path: '/users/:id', methods: ['GET'], upstream: 'onlyB' },
        { name: 'v2', path: '/api/*', headers: { 'x-version': '2' }, upstream: 'onlyB' },
        { name: 'api', path: '/api/*', upstream: 'both' },
        {
          name: 'rewritten',
          path: '/old/*',
          upstream: 'onlyB',
          rewrite: { prefix: '/new' },
          requestHeaders: {
            add: { 'x-added': 'yes' },
            remove: ['x-drop'],
            rename: { 'x-from-client': 'x-renamed' },
          },
          responseHeaders: { remove: ['x-from'] },
        },
        { name: 'host', path: '/*', hosts: ['*.example.com'], upstream: 'onlyB' },
        { name: 'dead', path: '/dead', upstream: 'dead' },
      ],
    });
  });

  after(async () => {
    await gw.close();
    await a.close();
    await b.close();
  });

  it('balances round robin over the targets of an upstream', async () => {
    const before = [a.seen.length, b.seen.length];
    for (let i = 0; i < 4; i++) assert.equal((await call(`${gw.url}/api/x`)).status, 200);
    assert.equal(a.seen.length - before[0]!, 2);
    assert.equal(b.seen.length - before[1]!, 2);
  });

  it('forwards the normalised path and query, with forwarding headers and a request id', async () => {
    const reply = await call(`${gw.url}/api/./a//b/../c?q=1&r=%2F`, {
      headers: { 'x-request-id': 'abc-123' },
    });
    assert.equal(reply.status, 200);
    const seen = reply.json() as { url: string; headers: Record<string, string> };
    assert.equal(seen.url, '/api/a/c?q=1&r=%2F');
    assert.equal(seen.headers['x-request-id'], 'abc-123');
    assert.equal(reply.headers['x-request-id'], 'abc-123');
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen.headers['x-forwarded-proto'], 'http');
    assert.match(seen.headers.forwarded!, /^for=127\.0\.0\.1;proto=http;host="127\.0\.0\.1:\d+"$/);
    assert.equal(seen.headers.via, '1.1 sluice');
    assert.match(String(reply.headers.via), /1\.1 sluice/);
  });

  it('generates a request id when the client sends none or a bad one', async () => {
    const reply = await call(`${gw.url}/api/x`, {
      headers: { 'x-request-id': 'bad id with spaces' },
    });
    assert.match(String(reply.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  });

  it('strips hop-by-hop headers both ways, including those named by Connection', async () => {
    const before = b.seen.length;
    const text = await raw(
      gw.address.port,
      'GET /users/7 HTTP/1.1\r\nhost: x\r\nconnection: close, x-private\r\nx-private: p\r\nte: trailers\r\nkeep-alive: 5\r\nupgrade: h2c\r\n\r\n',
    );
    assert.equal(statusOf(text), 200);
    const seen = b.seen[before]!;
    assert.equal(seen.headers['x-private'], undefined);
    assert.equal(seen.headers.te, undefined);
    assert.equal(seen.headers['keep-alive'], undefined);
    assert.equal(seen.headers.upgrade, undefined);
    assert.doesNotMatch(text, /x-secret/i);
    assert.match(text, /x-from: b/i);
  });

  it('matches on method, header and host', async () => {
    assert.equal((await call(`${gw.url}/users/7`, { method: 'DELETE' })).status, 405);
    const v2 = await call(`${gw.url}/api/x`, { headers: { 'x-version': '2' } });
    assert.equal(v2.headers['x-from'], 'b');
    assert.equal((await call(`${gw.url}/other`)).status, 404);
    const hosted = await call(`${gw.url}/other`, { headers: { host: 'shop.example.com' } });
    assert.equal(hosted.status, 200);
  });

  it('rewrites the path and adds, removes and renames headers', async () => {
    const reply = await call(`${gw.url}/old/thing?x=1`, {
      headers: { 'x-drop': '1', 'x-from-client': 'v' },
    });
    const seen = reply.json() as { url: string; headers: Record<string, string> };
    assert.equal(seen.url, '/new/thing?x=1');
    assert.equal(seen.headers['x-added'], 'yes');
    assert.equal(seen.headers['x-drop'], undefined);
    assert.equal(seen.headers['x-renamed'], 'v');
    assert.equal(reply.headers['x-from'], undefined);
  });

  it('streams request bodies to the upstream', async () => {
    const body = 'x'.repeat(200_000);
    const reply = await call(`${gw.url}/api/upload`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'text/plain' },
    });
    const seen = reply.json() as { body: string; method: string };
    assert.equal(seen.method, 'POST');
    assert.equal(seen.body.length, body.length);
  });

  it('answers 502 with a problem body when the upstream is unreachable', async () => {
    const reply = await call(`${gw.url}/dead`);
    assert.equal(reply.status, 502);
    assert.equal(reply.headers['content-type'], 'application/problem+json');
    const problem = reply.json();
    assert.equal(problem.status, 502);
    assert.equal(problem.type, 'urn:sluice:problem:bad-gateway');
    assert.doesNotMatch(reply.text, /at .*\.(ts|js):\d+/);
  });
});
