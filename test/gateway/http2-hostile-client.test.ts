import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { constants } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { Gateway } from '../../src/gateway/gateway.js';
import { capturedLogger } from '../support/captured-logger.js';
import { h2Call, h2Connect, makeCertificate, type TestCertificate } from './tls-helpers.js';

const PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const GOAWAY = 0x7;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/** An HPACK block of literal fields, never indexed, names and values under 127 bytes. */
function block(fields: [string, string][]): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of fields) {
    parts.push(Buffer.from([0x00, name.length]), Buffer.from(name, 'latin1'));
    parts.push(Buffer.from([value.length]), Buffer.from(value, 'latin1'));
  }
  return Buffer.concat(parts);
}

interface Frame {
  type: number;
  stream: number;
  payload: Buffer;
}

/** A TLS connection speaking raw HTTP/2 frames: what no well-behaved client library sends. */
async function rawSession(port: number, ca: string) {
  const socket: TLSSocket = tlsConnect({
    port,
    host: '127.0.0.1',
    servername: 'localhost',
    ca,
    ALPNProtocols: ['h2'],
  });
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  const frames: Frame[] = [];
  const waiters: (() => void)[] = [];
  let buffered = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 9) {
      const length = buffered.readUIntBE(0, 3);
      if (buffered.length < 9 + length) break;
      frames.push({
        type: buffered[3]!,
        stream: buffered.readUInt32BE(5) & 0x7fffffff,
        payload: buffered.subarray(9, 9 + length),
      });
      buffered = buffered.subarray(9 + length);
    }
    for (const wake of waiters.splice(0)) wake();
  });
  socket.on('close', () => {
    for (const wake of waiters.splice(0)) wake();
  });
  socket.write(PREFACE);
  socket.write(frame(SETTINGS, 0, 0, Buffer.alloc(0)));
  return {
    socket,
    frames,
    request(stream: number, fields: [string, string][], end = true): void {
      socket.write(frame(HEADERS, END_HEADERS | (end ? END_STREAM : 0), stream, block(fields)));
    },
    /** Resolves once `test` holds of the frames received (or the connection closed). */
    async until(test: (frames: Frame[]) => boolean): Promise<void> {
      while (!test(frames) && !socket.destroyed) {
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    },
  };
}

const get = (path: string): [string, string][] => [
  [':method', 'GET'],
  [':scheme', 'https'],
  [':authority', 'localhost'],
  [':path', path],
];

/** An upstream that holds `/hold`, drips `/drip` until the gateway lets go, and reads `/upload`. */
async function startUpstream() {
  const holding: (() => void)[] = [];
  const arrivals: ((req: IncomingMessage) => void)[] = [];
  let requests = 0;
  const server: Server = createServer((req, res) => {
    requests++;
    arrivals.shift()?.(req);
    if (req.url === '/hold') {
      holding.push(() => res.end('held'));
      return;
    }
    if (req.url === '/drip') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => res.write('drop '), 10);
      res.once('close', () => clearInterval(timer));
      return;
    }
    req.resume();
    req.once('end', () => res.end('ok'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    requests: () => requests,
    /** The next request's arrival; its 'close' tells when the gateway let go of it. */
    next: () => new Promise<IncomingMessage>((resolve) => arrivals.push(resolve)),
    release(): void {
      for (const answer of holding.splice(0)) answer();
    },
  };
}

const closed = (req: IncomingMessage): Promise<void> =>
  new Promise((resolve) => {
    if (req.socket.destroyed) resolve();
    else req.socket.once('close', () => resolve());
  });

// A bound on each test, not a timing: a leaked upstream call shows as a test that never ends.
describe('a hostile HTTP/2 client never takes the gateway down', { timeout: 20_000 }, () => {
  let dir: string;
  let cert: TestCertificate;
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let gw: Gateway;
  const log = capturedLogger();

  /** A fresh session's request still gets its answer. */
  const stillServes = async (): Promise<void> => {
    const session = await h2Connect(gw.url, cert.cert);
    try {
      const reply = await h2Call(session, { ':path': '/ok' });
      assert.equal(reply.status, 200);
      assert.equal(reply.text, 'ok');
    } finally {
      session.close();
    }
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-gw-h2-hostile-'));
    cert = makeCertificate(dir, 'gateway');
    upstream = await startUpstream();
    gw = await Gateway.start(
      {
        listen: 0,
        metrics: false,
        tls: { cert: cert.certFile, key: cert.keyFile },
        http2: true,
        upstreams: {
          // Long timeouts: only the client going away can end a held upstream call early.
          app: {
            targets: [upstream.url],
            headersTimeout: '10m',
            bodyTimeout: '10m',
            resilience: { concurrency: false },
          },
        },
        routes: [{ path: '/*', upstream: 'app' }],
      },
      { logger: log.logger },
    );
  });

  after(async () => {
    upstream.release();
    await gw.close();
    await new Promise<void>((resolve) => {
      upstream.server.closeAllConnections();
      upstream.server.close(() => resolve());
    });
    rmSync(dir, { recursive: true, force: true });
    const errors = log.lines.filter((line) => Number(line.level) >= 50);
    assert.deepEqual(errors, [], 'nothing was logged at error');
  });

  it('RST_STREAM in the middle of the request body: the upstream call is let go', async () => {
    const session = await h2Connect(gw.url, cert.cert);
    const arrived = upstream.next();
    const stream = session.request({ ':method': 'POST', ':path': '/upload' }, { endStream: false });
    stream.on('error', () => {});
    stream.write('part of a body');
    const req = await arrived;
    stream.close(constants.NGHTTP2_CANCEL);
    await closed(req);
    session.close();
    await stillServes();
  });

  it('RST_STREAM in the middle of the response body: the upstream call is let go', async () => {
    const session = await h2Connect(gw.url, cert.cert);
    const arrived = upstream.next();
    const stream = session.request({ ':path': '/drip' });
    stream.on('error', () => {});
    await new Promise((resolve) => stream.once('data', resolve));
    const req = await arrived;
    stream.close(constants.NGHTTP2_CANCEL);
    await closed(req);
    session.close();
    await stillServes();
  });

  it('invalid pseudo-headers and fields get the stream reset, and nothing goes upstream', async () => {
    const before = upstream.requests();
    const raw = await rawSession(gw.address.port, cert.cert);
    raw.request(1, [
      [':method', 'GET'],
      [':scheme', 'https'],
      [':authority', 'localhost'],
    ]);
    raw.request(3, [...get('/ok'), [':bogus', 'x']]);
    raw.request(5, [
      [':method', 'GET'],
      ['x-first', 'regular'],
      [':path', '/ok'],
      [':scheme', 'https'],
    ]);
    raw.request(7, [...get('/ok'), ['X-Upper', 'case']]);
    raw.request(9, [...get('/ok'), ['connection', 'keep-alive']]);
    raw.request(11, [...get('/ok'), [':path', '/twice']]);
    const refused = (frames: Frame[]): Set<number> =>
      new Set(frames.filter((f) => f.type === RST_STREAM).map((f) => f.stream));
    await raw.until(
      (frames) => refused(frames).size === 6 || frames.some((f) => f.type === GOAWAY),
    );
    const answered = raw.frames.filter((f) => f.type === HEADERS);
    assert.deepEqual(answered, [], 'no stream was answered');
    assert.equal(upstream.requests(), before);
    raw.socket.destroy();
    await stillServes();
  });

  it('streams beyond the concurrent-stream limit are refused, the rest served', async () => {
    const before = upstream.requests();
    const raw = await rawSession(gw.address.port, cert.cert);
    for (let i = 0; i < 150; i++) raw.request(1 + 2 * i, get('/hold'));
    const refusals = (frames: Frame[]) =>
      frames.filter(
        (f) =>
          f.type === RST_STREAM && f.payload.readUInt32BE(0) === constants.NGHTTP2_REFUSED_STREAM,
      );
    await raw.until((frames) => refusals(frames).length >= 50);
    assert.equal(refusals(raw.frames).length, 50);
    assert.ok(upstream.requests() - before <= 100, `${upstream.requests() - before} went upstream`);
    upstream.release();
    await stillServes();
    raw.socket.destroy();
  });

  it('a GOAWAY in the middle of a response', async () => {
    const session = await h2Connect(gw.url, cert.cert);
    session.on('error', () => {});
    const arrived = upstream.next();
    const stream = session.request({ ':path': '/drip' });
    stream.on('error', () => {});
    await new Promise((resolve) => stream.once('data', resolve));
    const req = await arrived;
    session.goaway(constants.NGHTTP2_PROTOCOL_ERROR);
    session.destroy();
    await closed(req);
    await stillServes();
  });

  it('a connection cut while a request waits for the upstream', async () => {
    const raw = await rawSession(gw.address.port, cert.cert);
    const arrived = upstream.next();
    raw.request(1, get('/hold'));
    const req = await arrived;
    raw.socket.destroy();
    await closed(req);
    await stillServes();
  });
});
