import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FilterFactory } from '../../src/gateway/compile.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { call, raw, refusedRaw, startUpstream, statusOf, type TestUpstream } from './helpers.js';

describe('gateway bad input', () => {
  let upstream: TestUpstream;
  let gw: Gateway;
  let port: number;

  before(async () => {
    upstream = await startUpstream();
    gw = await Gateway.start({
      listen: 0,
      metrics: false,
      trustedProxies: ['10.0.0.0/8', '127.0.0.1'],
      limits: { maxHeaderSize: '4kb', headersTimeout: '300ms', requestTimeout: '600ms' },
      routes: [{ path: '/*', upstream: upstream.url }],
    });
    port = gw.address.port;
  });

  after(async () => {
    await gw.close();
    await upstream.close();
  });

  const rejected = (payload: string, status: number, idleMs?: number): Promise<string> =>
    refusedRaw(gw.url, upstream, payload, status, idleMs);

  it('refuses Content-Length together with Transfer-Encoding (request smuggling)', async () => {
    const text = await rejected(
      'POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n',
      400,
    );
    assert.match(text, /application\/problem\+json/);
    assert.ok(!upstream.seen.some((s) => s.url === '/smuggled'));
  });

  it('refuses conflicting Content-Length headers and obfuscated Transfer-Encoding', async () => {
    await rejected(
      'POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde',
      400,
    );
    await rejected(
      'POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n',
      400,
    );
  });

  it('answers 431 to oversized headers', async () => {
    await rejected(`GET /a HTTP/1.1\r\nHost: x\r\nx-big: ${'a'.repeat(8000)}\r\n\r\n`, 431);
  });

  it('answers 400 to a malformed request line and bad header characters', async () => {
    await rejected('GARBAGE\r\n\r\n', 400);
    await rejected('GET /a HTTP/1.1\r\nHost: x\r\nbad header: v\r\n\r\n', 400);
  });

  it('answers 400 to path tricks before routing', async () => {
    await rejected('GET /a/../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n', 400);
    await rejected('GET /a%2f..%2fb HTTP/1.1\r\nHost: x\r\n\r\n', 400);
    await rejected('GET /a/%252e%252e/b HTTP/1.1\r\nHost: x\r\n\r\n', 400);
  });

  it('times out a client that never finishes its headers (408)', async () => {
    await rejected('GET /a HTTP/1.1\r\nHost: x\r\n', 408, 5000);
  });

  it('gives up on a client that stalls mid-body, and the upstream never gets a whole request', async () => {
    const seen = upstream.seen.length;
    const text = await raw(
      port,
      'POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789',
      5000,
    );
    assert.equal(statusOf(text), 408, text);
    assert.equal(upstream.seen.length, seen);
    assert.equal((await call(`${gw.url}/still-serving`)).status, 200);
  });

  it('believes X-Forwarded-For only from trusted proxies', async () => {
    // The test client is 127.0.0.1, which is trusted here: the right-most untrusted hop wins.
    const viaProxy = await call(`${gw.url}/ip`, {
      headers: { 'x-forwarded-for': '6.6.6.6, 203.0.113.7, 10.1.2.3' },
    });
    const seen = viaProxy.json() as { headers: Record<string, string> };
    assert.equal(seen.headers['x-forwarded-for'], '6.6.6.6, 203.0.113.7, 10.1.2.3, 127.0.0.1');
    assert.equal(
      gw.runtime.trusted.clientIp('127.0.0.1', '6.6.6.6, 203.0.113.7, 10.1.2.3'),
      '203.0.113.7',
    );
    assert.equal(gw.runtime.trusted.clientIp('198.51.100.1', '6.6.6.6'), '198.51.100.1');
  });
});

describe('forged X-Forwarded-For from an untrusted client', () => {
  it('replaces the forged chain with the real peer', async () => {
    const upstream = await startUpstream();
    const gw = await Gateway.start({
      listen: 0,
      metrics: false,
      routes: [{ path: '/*', upstream: upstream.url }],
    });
    try {
      const reply = await call(`${gw.url}/ip`, {
        headers: {
          'x-forwarded-for': '1.2.3.4',
          forwarded: 'for=1.2.3.4',
          'x-forwarded-proto': 'https',
        },
      });
      const seen = reply.json() as { headers: Record<string, string> };
      assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
      assert.equal(seen.headers['x-forwarded-proto'], 'http');
      assert.doesNotMatch(seen.headers.forwarded!, /1\.2\.3\.4/);
    } finally {
      await gw.close();
      await upstream.close();
    }
  });
});

describe('a client that leaves mid-body while a filter is still working', () => {
  it('does not take the gateway down, whatever reads the body later', async () => {
    const upstream = await startUpstream();
    let entered: () => void = () => {};
    // Stands in for a filter that awaits (a JWKS fetch, a Redis limit) before the body is
    // read: it goes on only once the client has gone and node has failed the request body.
    const waiting: FilterFactory = () => (next) => async (request, context) => {
      if (request.path !== '/upload') return next(request, context);
      entered();
      const signal = context.signal;
      if (!signal.aborted) await once(signal, 'abort');
      await new Promise((resolve) => setImmediate(resolve));
      return next(request, context);
    };
    const gw = await Gateway.start(
      { listen: 0, metrics: false, routes: [{ path: '/*', upstream: upstream.url }] },
      { filters: { headers: waiting } },
    );
    try {
      for (const framing of [
        'content-length: 100\r\n\r\nabc',
        'transfer-encoding: chunked\r\n\r\n5\r\nab',
      ]) {
        const inFilter = new Promise<void>((resolve) => {
          entered = resolve;
        });
        const socket = connect({ host: '127.0.0.1', port: gw.address.port });
        socket.on('error', () => {});
        socket.write(`POST /upload HTTP/1.1\r\nhost: x\r\n${framing}`);
        await inFilter;
        socket.resetAndDestroy();
        await once(socket, 'close');
        assert.equal((await call(`${gw.url}/still-serving`)).status, 200);
      }
      assert.ok(!upstream.seen.some((s) => s.url === '/upload'), 'no cut body went upstream');
    } finally {
      await gw.close();
      await upstream.close();
    }
  });
});
