import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FilterFactory } from '../../src/gateway/compile.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { capturedLogger } from '../support/captured-logger.js';
import { call, startUpstream, type TestUpstream } from './helpers.js';
import {
  type HostileUpstream,
  type Misbehaviour,
  startHostileUpstream,
} from './hostile-upstream.js';

const CUT = 'cut';
type Outcome = number | typeof CUT;

/** Writes `bytes` every few milliseconds until the connection closes. */
function drip(socket: Socket, bytes: () => string): void {
  const timer = setInterval(() => socket.write(bytes()), 20);
  socket.once('close', () => clearInterval(timer));
}

const head = (status: string, headers: string): string => `HTTP/1.1 ${status}\r\n${headers}\r\n`;

interface Case {
  name: string;
  misbehaviour: Misbehaviour;
  /** What the client may see: a status (with the body when given), or a cut response. */
  expect: readonly Outcome[];
  body?: string;
  method?: 'GET' | 'HEAD';
}

const cases: Case[] = [
  {
    name: 'a Content-Length longer than the body',
    misbehaviour: (s) => s.end(`${head('200 OK', 'content-length: 100\r\n')}abc`),
    expect: [502, CUT],
  },
  {
    name: 'a Content-Length shorter than the body',
    misbehaviour: (s) => s.write(`${head('200 OK', 'content-length: 3\r\n')}abcdefgh`),
    expect: [200],
    body: 'abc',
  },
  {
    name: 'a reset in the middle of the body',
    misbehaviour: (s) => {
      s.write(`${head('200 OK', 'transfer-encoding: chunked\r\n')}5\r\nhello\r\n`);
      setTimeout(() => s.resetAndDestroy(), 50);
    },
    expect: [502, CUT],
  },
  {
    name: 'a connection closed before any response',
    misbehaviour: (s) => s.end(),
    expect: [502],
  },
  {
    name: 'an invalid status line',
    misbehaviour: (s) => s.write(head('2x0 OK', 'content-length: 0\r\n')),
    expect: [502],
  },
  {
    name: 'no status line at all',
    misbehaviour: (s) => s.write('hello, this is not HTTP\r\n\r\n'),
    expect: [502],
  },
  {
    name: 'a NUL byte in a header value',
    misbehaviour: (s) => s.write(`${head('200 OK', 'x-bad: a\0b\r\ncontent-length: 2\r\n')}ok`),
    expect: [502],
  },
  {
    name: 'a space in a header name',
    misbehaviour: (s) => s.write(`${head('200 OK', 'bad name: x\r\ncontent-length: 2\r\n')}ok`),
    expect: [502],
  },
  {
    name: 'both Content-Length and Transfer-Encoding (response smuggling)',
    misbehaviour: (s) =>
      s.write(`${head('200 OK', 'content-length: 5\r\ntransfer-encoding: chunked\r\n')}0\r\n\r\n`),
    expect: [502],
  },
  {
    name: 'a body on a 204',
    misbehaviour: (s) => s.write(`${head('204 No Content', 'content-length: 5\r\n')}hello`),
    expect: [204],
    body: '',
  },
  {
    name: 'a body on a 304',
    misbehaviour: (s) => s.write(`${head('304 Not Modified', 'content-length: 5\r\n')}hello`),
    expect: [304],
    body: '',
  },
  {
    name: 'a body on the answer to HEAD',
    misbehaviour: (s) => s.write(`${head('200 OK', 'content-length: 5\r\n')}hello`),
    expect: [200],
    body: '',
    method: 'HEAD',
  },
  {
    name: 'endless headers',
    misbehaviour: (s) => {
      s.write('HTTP/1.1 200 OK\r\n');
      drip(s, () => `x-more: ${'a'.repeat(1000)}\r\n`);
    },
    expect: [502, 504],
  },
  {
    name: 'a slow drip of the status line and headers',
    misbehaviour: (s) => {
      const text = `HTTP/1.1 200 OK\r\n${'x-slow: drip\r\n'.repeat(1000)}`;
      let i = 0;
      drip(s, () => text[i++ % text.length]!);
    },
    expect: [504],
  },
  {
    name: 'a hundred 103 Early Hints before the final response',
    misbehaviour: (s) => {
      const interim = head('103 Early Hints', 'link: </app.css>; rel=preload\r\n');
      s.write(`${interim.repeat(100)}${head('200 OK', 'content-length: 2\r\n')}ok`);
    },
    expect: [200],
    body: 'ok',
  },
  {
    // undici takes a 100 nobody asked for (the gateway sends no Expect) as a broken peer.
    name: 'a storm of unsolicited 100 Continue before the final response',
    misbehaviour: (s) =>
      s.write(
        `${head('100 Continue', '').repeat(500)}${head('200 OK', 'content-length: 2\r\n')}ok`,
      ),
    expect: [502],
  },
  {
    name: 'an endless storm of 1xx interim responses',
    misbehaviour: (s) => drip(s, () => head('103 Early Hints', 'link: </a>; rel=preload\r\n')),
    expect: [502],
  },
  {
    name: 'an invalid chunk size',
    misbehaviour: (s) =>
      s.write(`${head('200 OK', 'transfer-encoding: chunked\r\n')}zz\r\nhello\r\n0\r\n\r\n`),
    expect: [502, CUT],
  },
  {
    name: 'a chunk cut short by the connection closing',
    misbehaviour: (s) => s.end(`${head('200 OK', 'transfer-encoding: chunked\r\n')}a\r\nhel`),
    expect: [502, CUT],
  },
  {
    name: 'a chunk longer than its size',
    misbehaviour: (s) =>
      s.write(`${head('200 OK', 'transfer-encoding: chunked\r\n')}2\r\nhello\r\n0\r\n\r\n`),
    expect: [502, CUT],
  },
];

describe('a misbehaving upstream never takes the gateway down', () => {
  let hostile: HostileUpstream;
  let healthy: TestUpstream;
  let gw: Gateway;
  const log = capturedLogger();

  before(async () => {
    hostile = await startHostileUpstream();
    healthy = await startUpstream();
    gw = await Gateway.start(
      {
        listen: 0,
        metrics: false,
        upstreams: {
          hostile: {
            targets: [hostile.url],
            headersTimeout: '1s',
            bodyTimeout: '1s',
            outlier: false,
          },
        },
        routes: [
          { path: '/hostile/*', upstream: 'hostile' },
          { path: '/*', upstream: healthy.url },
        ],
      },
      { logger: log.logger },
    );
  });

  after(async () => {
    await gw.close();
    await hostile.close();
    await healthy.close();
  });

  for (const c of cases) {
    it(`${c.name}: ${c.expect.join(' or ')}`, async () => {
      hostile.behave(c.misbehaviour);
      let outcome: Outcome;
      let text: string | undefined;
      try {
        const reply = await call(`${gw.url}/hostile/x`, { method: c.method ?? 'GET' });
        outcome = reply.status;
        text = reply.text;
      } catch {
        outcome = CUT;
      }
      assert.ok(c.expect.includes(outcome), `got ${outcome}, expected ${c.expect.join(' or ')}`);
      if (c.body !== undefined && typeof outcome === 'number') assert.equal(text, c.body);
      if (outcome === CUT || outcome >= 500) {
        const line = await log.next((l) => Number(l.level) >= 40);
        assert.match(String(line.msg), /upstream failed|response cut/);
      }

      // The gateway still serves: another upstream, and this one once it behaves.
      assert.equal((await call(`${gw.url}/elsewhere`)).status, 200);
      hostile.behave((s) => s.write(`${head('200 OK', 'content-length: 2\r\n')}ok`));
      const again = await call(`${gw.url}/hostile/again`);
      assert.equal(again.status, 200);
      assert.equal(again.text, 'ok');
    });
  }
});

describe('an upstream body that fails before the gateway listens to it', () => {
  it('is a cut response and a log line, not an unhandled error', async () => {
    const hostile = await startHostileUpstream();
    const log = capturedLogger();
    hostile.behave((s) => {
      s.write(`${head('200 OK', 'content-length: 100\r\n')}abc`);
      setImmediate(() => s.resetAndDestroy());
    });
    // A filter that takes its time with the response, as a cache or a policy may: the
    // upstream's body fails while nothing is piping it yet.
    const slow: FilterFactory = () => (next) => async (request, context) => {
      const response = await next(request, context);
      await new Promise((resolve) => setTimeout(resolve, 100));
      return response;
    };
    const gw = await Gateway.start(
      { listen: 0, metrics: false, routes: [{ path: '/*', upstream: hostile.url }] },
      { logger: log.logger, filters: { headers: slow } },
    );
    try {
      await assert.rejects(call(`${gw.url}/x`));
      const line = await log.next((l) => Number(l.level) >= 40);
      assert.match(String(line.msg), /response cut/);
      hostile.behave((s) => s.write(`${head('200 OK', 'content-length: 2\r\n')}ok`));
      assert.equal((await call(`${gw.url}/again`)).text, 'ok');
    } finally {
      await gw.close();
      await hostile.close();
    }
  });
});

describe('health checks against a misbehaving upstream', () => {
  it('mark it unhealthy and never take the gateway down', async () => {
    const hostile = await startHostileUpstream();
    const healthy = await startUpstream();
    const log = capturedLogger();
    // Every probe meets another misbehaviour; the test goes on once each was met twice.
    const bad = cases.filter((c) => c.expect.includes(502) || c.expect.includes(CUT));
    let probes = 0;
    let met: () => void = () => {};
    const allMet = new Promise<void>((resolve) => {
      met = resolve;
    });
    hostile.behave((socket, request) => {
      probes++;
      if (probes >= bad.length * 2) met();
      bad[probes % bad.length]!.misbehaviour(socket, request);
    });
    const gw = await Gateway.start(
      {
        listen: 0,
        metrics: false,
        upstreams: {
          hostile: {
            targets: [hostile.url],
            healthCheck: { path: '/healthz', interval: '20ms', timeout: '200ms' },
          },
        },
        routes: [
          { path: '/hostile/*', upstream: 'hostile' },
          { path: '/*', upstream: healthy.url },
        ],
      },
      { logger: log.logger },
    );
    try {
      await allMet;
      assert.equal((await call(`${gw.url}/elsewhere`)).status, 200);
      assert.equal((await call(`${gw.url}/hostile/x`)).status, 503, 'no healthy target');
    } finally {
      await gw.close();
      await hostile.close();
      await healthy.close();
    }
  });
});
