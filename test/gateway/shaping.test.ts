import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Gateway } from '../../src/gateway/gateway.js';
import { call, raw, startUpstream, statusOf, type TestUpstream } from './helpers.js';

describe('gateway shaping', () => {
  let upstream: TestUpstream;
  let gw: Gateway;

  before(async () => {
    upstream = await startUpstream();
    gw = await Gateway.start({
      listen: 0,
      routes: [
        {
          path: '/orders',
          methods: ['POST'],
          upstream: upstream.url,
          body: {
            maxBytes: '1kb',
            schema: {
              type: 'object',
              required: ['sku', 'qty'],
              additionalProperties: false,
              properties: { sku: { type: 'string' }, qty: { type: 'integer', minimum: 1 } },
            },
          },
        },
        { path: '/upload', upstream: upstream.url, body: { maxBytes: '1kb' } },
        {
          path: '/cors/*',
          methods: ['GET', 'PUT'],
          upstream: upstream.url,
          cors: {
            origins: ['https://shop.example'],
            exposeHeaders: ['x-total'],
            credentials: true,
          },
        },
      ],
    });
  });

  after(async () => {
    await gw.close();
    await upstream.close();
  });

  const json = { 'content-type': 'application/json' };

  it('passes a valid body, buffered, to the upstream', async () => {
    const reply = await call(`${gw.url}/orders`, {
      method: 'POST',
      headers: json,
      body: '{"sku":"a","qty":2}',
    });
    assert.equal(reply.status, 200);
    const seen = reply.json() as { body: string; headers: Record<string, string> };
    assert.equal(seen.body, '{"sku":"a","qty":2}');
    assert.equal(seen.headers['content-length'], '19');
  });

  it('answers 400 naming each schema violation, and the upstream sees nothing', async () => {
    const before = upstream.seen.length;
    const reply = await call(`${gw.url}/orders`, {
      method: 'POST',
      headers: json,
      body: '{"qty":0,"x":1}',
    });
    assert.equal(reply.status, 400);
    const problem = reply.json() as {
      type: string;
      errors: { pointer: string; message: string }[];
    };
    assert.equal(problem.type, 'urn:sluice:problem:invalid-body');
    const messages = problem.errors.map((e) => `${e.pointer} ${e.message}`);
    assert.ok(messages.includes('/ missing property "sku"'), messages.join());
    assert.ok(messages.includes('/ unexpected property "x"'), messages.join());
    assert.ok(
      messages.some((m) => m.startsWith('/qty ')),
      messages.join(),
    );
    assert.equal(
      (await call(`${gw.url}/orders`, { method: 'POST', headers: json, body: '{bad' })).status,
      400,
    );
    assert.equal(
      (
        await call(`${gw.url}/orders`, {
          method: 'POST',
          headers: { 'content-type': 'text/plain' },
          body: '{}',
        })
      ).status,
      415,
    );
    assert.equal(upstream.seen.length, before);
  });

  it('refuses oversized bodies with 413, by Content-Length and when chunked', async () => {
    const before = upstream.seen.length;
    const big = 'x'.repeat(5000);
    assert.equal((await call(`${gw.url}/upload`, { method: 'POST', body: big })).status, 413);
    assert.equal(
      (
        await call(`${gw.url}/orders`, {
          method: 'POST',
          headers: json,
          body: `{"sku":"${big}","qty":1}`,
        })
      ).status,
      413,
    );
    const chunk = big.slice(0, 1500);
    const chunked = await raw(
      gw.address.port,
      `POST /upload HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n${chunk.length.toString(16)}\r\n${chunk}\r\n0\r\n\r\n`,
    );
    assert.equal(statusOf(chunked), 413);
    assert.equal(upstream.seen.length, before);
    assert.equal((await call(`${gw.url}/upload`, { method: 'POST', body: 'small' })).status, 200);
  });

  it('answers CORS preflights itself and decorates responses for allowed origins', async () => {
    const before = upstream.seen.length;
    const preflight = await call(`${gw.url}/cors/x`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://shop.example',
        'access-control-request-method': 'PUT',
        'access-control-request-headers': 'content-type',
      },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers['access-control-allow-origin'], 'https://shop.example');
    assert.equal(preflight.headers['access-control-allow-methods'], 'GET, PUT');
    assert.equal(preflight.headers['access-control-allow-credentials'], 'true');
    const denied = await call(`${gw.url}/cors/x`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'PUT' },
    });
    assert.equal(denied.status, 403);
    assert.equal(upstream.seen.length, before);
    const actual = await call(`${gw.url}/cors/x`, { headers: { origin: 'https://shop.example' } });
    assert.equal(actual.headers['access-control-allow-origin'], 'https://shop.example');
    assert.equal(actual.headers['access-control-expose-headers'], 'x-total');
    const other = await call(`${gw.url}/cors/x`, { headers: { origin: 'https://evil.example' } });
    assert.equal(other.headers['access-control-allow-origin'], undefined);
  });

  it('enforces the method allow-list with 405 and Allow', async () => {
    const reply = await call(`${gw.url}/orders`);
    assert.equal(reply.status, 405);
    assert.equal(reply.headers.allow, 'POST');
  });
});
