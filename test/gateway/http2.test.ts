import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { type ClientHttp2Session, type ClientHttp2Stream, constants } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import type { GatewayConfig } from '../../src/gateway/config.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { statusOf } from './helpers.js';
import {
  h2Call,
  h2Connect,
  httpsCall,
  makeCertificate,
  type TestCertificate,
} from './tls-helpers.js';

/**
 * An upstream that echoes the request body as it arrives, answers `/hop` with every
 * hop-by-hop header node lets it send, upgrades `/ws`, and holds `/hold` until released.
 */
async function startEchoUpstream() {
  const seen: IncomingHttpHeaders[] = [];
  const held: (() => void)[] = [];
  const arrivals: (() => void)[] = [];
  const sockets: Duplex[] = [];
  const server: Server = createServer((req, res) => {
    seen.push(req.headers);
    if (req.url === '/hold') {
      held.push(() => res.end('released'));
      arrivals.shift()?.();
      return;
    }
    if (req.url === '/hop') {
      res.writeHead(200, {
        'content-type': 'text/plain',
        connection: 'keep-alive, x-hop',
        'keep-alive': 'timeout=5',
        'proxy-connection': 'keep-alive',
        'transfer-encoding': 'chunked',
        upgrade: 'h2c',
        'x-hop': 'hop-only',
        'x-kept': 'end-to-end',
      });
      res.end('hop body');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'x-upstream': 'echo' });
    req.pipe(res);
  });
  server.on('upgrade', (_, socket: Duplex) => {
    sockets.push(socket);
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n',
    );
    socket.on('data', (chunk: Buffer) => socket.write(`echo:${chunk.toString()}`));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    held,
    arrivals,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Resolves when `text` has been read from the stream, counting what came before. */
function readUntil(stream: Duplex, text: string): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    const onData = (chunk: Buffer): void => {
      data += chunk.toString();
      if (!data.includes(text)) return;
      stream.off('data', onData);
      resolve(data);
    };
    stream.on('data', onData);
  });
}

/** The RST_STREAM code a stream ended with (0 when it ended normally). */
async function closeCode(stream: ClientHttp2Stream): Promise<number | undefined> {
  stream.on('error', () => {});
  await new Promise((resolve) => stream.once('close', resolve));
  return stream.rstCode;
}

describe('gateway over HTTP/2', () => {
  let dir: string;
  let cert: TestCertificate;
  let upstream: Awaited<ReturnType<typeof startEchoUpstream>>;
  let gw: Gateway;
  let session: ClientHttp2Session;

  const config = (extra: Partial<GatewayConfig> = {}): GatewayConfig => ({
    listen: 0,
    metrics: false,
    tls: { cert: cert.certFile, key: cert.keyFile },
    http2: true,
    routes: [
      {
        path: '/added/*',
        upstream: upstream.url,
        responseHeaders: {
          add: { connection: 'close', 'keep-alive': 'timeout=9', 'transfer-encoding': 'chunked' },
        },
      },
      { path: '/ws', upstream: upstream.url, upgrade: ['websocket'] },
      { path: '/*', upstream: upstream.url },
    ],
    ...extra,
  });

  /** A gateway of its own for one test, and an HTTP/2 session to it. */
  const withGateway = async (
    extra: Partial<GatewayConfig>,
    use: (gateway: Gateway, client: ClientHttp2Session) => Promise<void>,
  ): Promise<void> => {
    const gateway = await Gateway.start(config(extra));
    const client = await h2Connect(gateway.url, cert.cert);
    try {
      await use(gateway, client);
    } finally {
      client.close();
      await gateway.close();
    }
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-gw-h2-'));
    cert = makeCertificate(dir, 'gateway');
    upstream = await startEchoUpstream();
    gw = await Gateway.start(config());
    session = await h2Connect(gw.url, cert.cert);
  });

  after(async () => {
    session.close();
    await gw.close();
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('proxies an HTTP/2 request with the upstream body and headers, and no pseudo-headers upstream', async () => {
    assert.equal(session.alpnProtocol, 'h2');
    const reply = await h2Call(session, { ':method': 'GET', ':path': '/catalog?page=2' });
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['x-upstream'], 'echo');
    assert.equal(reply.headers['content-type'], 'text/plain');
    assert.ok(reply.headers['x-request-id']);
    const seen = upstream.seen.at(-1)!;
    assert.deepEqual(
      Object.keys(seen).filter((name) => name.startsWith(':')),
      [],
    );
    assert.equal(seen.host, new URL(upstream.url).host);
    assert.equal(seen['x-forwarded-proto'], 'https');
    assert.equal(seen['x-forwarded-host'], new URL(gw.url).host);
    assert.match(String(seen.forwarded), /;proto=https;host="127\.0\.0\.1:\d+"$/);
  });

  it('routes by the :authority as it would by Host', async () => {
    const routes = [
      { path: '/*', hosts: ['shop.example'], upstream: upstream.url },
      { path: '/*', upstream: 'http://127.0.0.1:1' },
    ];
    await withGateway({ routes }, async (_, client) => {
      const reply = await h2Call(client, { ':path': '/', ':authority': 'shop.example' });
      assert.equal(reply.status, 200);
      assert.equal(upstream.seen.at(-1)!['x-forwarded-host'], 'shop.example');
    });
  });

  it('streams a request body up and the response body back as they flow', async () => {
    const stream = session.request({ ':method': 'POST', ':path': '/echo' });
    let status = 0;
    stream.once('response', (headers) => {
      status = Number(headers[':status']);
    });
    const parts = ['first chunk;', 'second chunk;', 'third chunk;'];
    let received = '';
    for (const part of parts) {
      stream.write(part);
      // The next part goes only once this one came back through the gateway.
      received += await readUntil(stream, part);
    }
    stream.end();
    stream.resume();
    await new Promise((resolve) => stream.once('end', resolve));
    assert.equal(status, 200);
    assert.equal(received, parts.join(''));
    assert.equal(upstream.seen.at(-1)!['transfer-encoding'], 'chunked');
  });

  it('delivers a large POST body intact', async () => {
    const chunks = Array.from(
      { length: 64 },
      (_, i) => `${String(i).padStart(4, '0')}:${'x'.repeat(4091)}`,
    );
    const reply = await h2Call(session, { ':method': 'POST', ':path': '/upload' }, chunks);
    assert.equal(reply.status, 200);
    assert.equal(reply.text, chunks.join(''));
  });

  it('drops hop-by-hop headers from the upstream and from filters before the HTTP/2 response', async () => {
    const hop = await h2Call(session, { ':path': '/hop' });
    assert.equal(hop.status, 200);
    assert.equal(hop.text, 'hop body');
    assert.equal(hop.headers['x-kept'], 'end-to-end');
    for (const name of [
      'connection',
      'keep-alive',
      'proxy-connection',
      'transfer-encoding',
      'upgrade',
      'x-hop',
    ]) {
      assert.equal(hop.headers[name], undefined, name);
    }
    const added = await h2Call(session, { ':path': '/added/x' });
    assert.equal(added.status, 200);
    assert.equal(added.headers['keep-alive'], undefined);
    assert.equal(added.headers['transfer-encoding'], undefined);
  });

  it('names the protocol each message came in with in Via: 2 upstream, 1.1 back, 1.1 for HTTP/1.1', async () => {
    const h2 = await h2Call(session, { ':path': '/via', via: '1.1 cdn' });
    assert.equal(h2.status, 200);
    assert.equal(upstream.seen.at(-1)!.via, '1.1 cdn, 2 sluice');
    // The response reached us from the upstream over HTTP/1.1.
    assert.equal(h2.headers.via, '1.1 sluice');
    const h1 = await httpsCall(`${gw.url}/via`, cert.cert);
    assert.equal(h1.status, 200);
    assert.equal(upstream.seen.at(-1)!.via, '1.1 sluice');
    assert.equal(h1.headers.via, '1.1 sluice');
  });

  it('still serves HTTP/1.1 over TLS to a client that does not offer h2', async () => {
    const reply = await httpsCall(`${gw.url}/plain`, cert.cert, {
      method: 'POST',
      body: 'over http/1.1',
    });
    assert.equal(reply.status, 200);
    assert.equal(reply.text, 'over http/1.1');
    assert.notEqual(reply.alpn, 'h2');
    assert.equal(upstream.seen.at(-1)!['x-forwarded-proto'], 'https');
  });

  it('passes a WebSocket upgrade through over TLS with HTTP/1.1', async () => {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port: gw.address.port,
      servername: 'localhost',
      ca: cert.cert,
      ALPNProtocols: ['http/1.1'],
    });
    try {
      await new Promise((resolve) => socket.once('secureConnect', resolve));
      const head = readUntil(socket, '\r\n\r\n');
      socket.write(
        'GET /ws HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n',
      );
      assert.equal(statusOf(await head), 101);
      const echoed = readUntil(socket, 'echo:ping');
      socket.write('ping');
      await echoed;
    } finally {
      socket.destroy();
    }
  });

  it('keeps the header limit for both protocols', async () => {
    await withGateway({ limits: { maxHeaderSize: '2kb' } }, async (strict, client) => {
      const big = 'a'.repeat(4096);
      const http1 = await httpsCall(`${strict.url}/`, cert.cert, { headers: { 'x-big': big } });
      assert.equal(http1.status, 431);
      // The first exchange settles the SETTINGS that carry the limit.
      assert.equal((await h2Call(client, { ':path': '/' })).status, 200);
      const stream = client.request({ ':path': '/', 'x-big': big });
      assert.equal(await closeCode(stream), constants.NGHTTP2_ENHANCE_YOUR_CALM);
    });
  });

  it('resets a stream whose request body is not complete within the request timeout', async () => {
    await withGateway({ limits: { requestTimeout: '300ms' } }, async (_, client) => {
      const stream = client.request({ ':method': 'POST', ':path': '/slow-upload' });
      stream.write('a start, and never an end');
      assert.equal(await closeCode(stream), constants.NGHTTP2_CANCEL);
    });
  });

  it('closes an HTTP/2 session left idle for the keep-alive timeout', async () => {
    await withGateway({ limits: { keepAliveTimeout: '200ms' } }, async (_, client) => {
      const closed = new Promise((resolve) => client.once('close', resolve));
      const goaway = new Promise((resolve) => client.once('goaway', resolve));
      assert.equal((await h2Call(client, { ':path': '/' })).status, 200);
      await goaway;
      await closed;
    });
  });

  it('serves a new certificate over h2 after a reload', async () => {
    const next = makeCertificate(dir, 'next');
    const live = { cert: join(dir, 'live.pem'), key: join(dir, 'live.key') };
    copyFileSync(cert.certFile, live.cert);
    copyFileSync(cert.keyFile, live.key);
    const rotating = await Gateway.start(config({ tls: live }));
    try {
      copyFileSync(next.certFile, live.cert);
      copyFileSync(next.keyFile, live.key);
      await rotating.reload(config({ tls: live }));
      const client = await h2Connect(rotating.url, next.cert);
      try {
        assert.equal(client.alpnProtocol, 'h2');
        const peer = (client.socket as TLSSocket).getPeerCertificate();
        assert.equal(peer.fingerprint256, next.fingerprint);
        assert.equal((await h2Call(client, { ':path': '/' })).status, 200);
      } finally {
        client.close();
      }
    } finally {
      await rotating.close();
    }
  });

  it('drains with a GOAWAY: the open stream finishes, no new one starts', async () => {
    const draining = await Gateway.start(config());
    const client = await h2Connect(draining.url, cert.cert);
    client.on('error', () => {});
    const goaway = new Promise((resolve) => client.once('goaway', resolve));
    const arrived = new Promise<void>((resolve) => upstream.arrivals.push(resolve));
    const inflight = h2Call(client, { ':path': '/hold' });
    await arrived;
    const closing = draining.close();
    await goaway;
    await assert.rejects(h2Call(client, { ':path': '/after-goaway' }));
    upstream.held.shift()!();
    const reply = await inflight;
    assert.equal(reply.status, 200);
    assert.equal(reply.text, 'released');
    await closing;
    client.close();
  });
});
