import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type Server,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Gateway } from '../../src/gateway/gateway.js';
import { raw } from './helpers.js';
import { h2Connect, makeCertificate, type TestCertificate } from './tls-helpers.js';

const LINK = '</app.css>; rel=preload; as=style';

/** An upstream that sends a 102 and a 103 (with a hop-by-hop field) before every 200. */
async function startHintingUpstream(): Promise<{
  url: string;
  server: Server;
  calls: () => number;
}> {
  let calls = 0;
  const server = createServer((req, res) => {
    calls++;
    res.writeProcessing();
    res.writeEarlyHints({ link: LINK, 'x-hint': 'early', 'keep-alive': 'timeout=5' });
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=600' });
    res.end(`final ${req.url}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, server, calls: () => calls };
}

interface Informed {
  interim: { status: number; headers: IncomingHttpHeaders }[];
  status: number;
  text: string;
}

/** One HTTP/1.1 request that records each 1xx it is sent before the final response. */
function get(url: string): Promise<Informed> {
  return new Promise((resolve, reject) => {
    const interim: Informed['interim'] = [];
    const req = httpRequest(url, { agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => resolve({ interim, status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.on('information', (info) =>
      interim.push({ status: info.statusCode, headers: info.headers }),
    );
    req.on('error', reject);
    req.end();
  });
}

describe('1xx interim responses', () => {
  let upstream: Awaited<ReturnType<typeof startHintingUpstream>>;
  let gw: Gateway;
  let dir: string;
  let cert: TestCertificate;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-gw-interim-'));
    cert = makeCertificate(dir, 'gateway');
    upstream = await startHintingUpstream();
    gw = await Gateway.start({
      listen: 0,
      metrics: false,
      routes: [
        { path: '/cached/*', upstream: upstream.url, cache: {} },
        { path: '/*', upstream: upstream.url },
      ],
    });
  });

  after(async () => {
    await gw.close();
    await new Promise<void>((resolve) => upstream.server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('relays the upstream 102 and 103 to an HTTP/1.1 client before the final response', async () => {
    const reply = await get(`${gw.url}/page`);
    assert.equal(reply.status, 200);
    assert.equal(reply.text, 'final /page');
    assert.deepEqual(
      reply.interim.map((i) => i.status),
      [102, 103],
    );
    const hints = reply.interim[1]!.headers;
    assert.equal(hints.link, LINK);
    assert.equal(hints['x-hint'], 'early');
    assert.equal(hints['keep-alive'], undefined, 'hop-by-hop fields stay on their hop');
  });

  it('never stores an interim response: a cache hit comes without one', async () => {
    const before = upstream.calls();
    const first = await get(`${gw.url}/cached/page`);
    assert.deepEqual(
      first.interim.map((i) => i.status),
      [102, 103],
    );
    const second = await get(`${gw.url}/cached/page`);
    assert.equal(upstream.calls(), before + 1, 'the second request is a hit');
    assert.equal(second.status, 200);
    assert.equal(second.text, 'final /cached/page');
    assert.deepEqual(second.interim, []);
  });

  it('sends no 1xx to an HTTP/1.0 client', async () => {
    const text = await raw(gw.address.port, 'GET /old HTTP/1.0\r\nhost: a\r\n\r\n');
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.doesNotMatch(text, / 10[23] /);
  });

  it('relays a 103 to an HTTP/2 client', async () => {
    const h2 = await Gateway.start({
      listen: 0,
      metrics: false,
      tls: { cert: cert.certFile, key: cert.keyFile },
      http2: true,
      routes: [{ path: '/*', upstream: upstream.url }],
    });
    const session = await h2Connect(h2.url, cert.cert);
    try {
      const seen = await new Promise<{ interim: IncomingHttpHeaders[]; status: number }>(
        (resolve, reject) => {
          const interim: IncomingHttpHeaders[] = [];
          const stream = session.request({ ':path': '/h2' });
          stream.on('headers', (headers) => interim.push(headers as IncomingHttpHeaders));
          stream.on('response', (headers) => {
            stream.resume();
            stream.on('end', () => resolve({ interim, status: Number(headers[':status']) }));
          });
          stream.on('error', reject);
        },
      );
      assert.equal(seen.status, 200);
      const early = seen.interim.find((h) => Number(h[':status']) === 103);
      assert.ok(early, 'a 103 arrived');
      assert.equal(early.link, LINK);
      assert.equal(early['keep-alive'], undefined);
    } finally {
      session.close();
      await h2.close();
    }
  });
});
