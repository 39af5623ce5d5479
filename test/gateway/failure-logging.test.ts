import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FilterFactory } from '../../src/gateway/compile.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { capturedLogger } from '../support/captured-logger.js';
import { call, raw, startUpstream, type TestUpstream } from './helpers.js';

describe('what the gateway logs of a request it could not serve', () => {
  let upstream: TestUpstream;
  let gw: Gateway;
  const log = capturedLogger();
  let entered: (() => void) | null = null;

  /**
   * Stands for filters that act on client input: `/named?name=` copies the decoded name
   * into a header; `/bug` fails once the client has left; `/bad-body` answers a body node
   * cannot write; `/ws-bug` fails on an Upgrade request.
   */
  const quirks: FilterFactory = () => (next) => async (request, context) => {
    if (request.path === '/named') {
      const name = new URLSearchParams(request.query).get('name') ?? '';
      request.headers['x-name'] = name;
    }
    if (request.path === '/bug') {
      entered?.();
      await new Promise((resolve) => context.signal.addEventListener('abort', resolve));
      throw new TypeError('a bug in a filter');
    }
    if (request.path === '/bad-body') {
      return { status: 200, headers: {}, body: 42 as unknown as string };
    }
    if (request.path === '/ws-bug') throw new TypeError('a bug on the upgrade path');
    return next(request, context);
  };

  before(async () => {
    upstream = await startUpstream();
    gw = await Gateway.start(
      {
        listen: 0,
        metrics: false,
        upstreams: {
          app: {
            targets: [upstream.url],
            resilience: {
              retry: { attempts: 3 },
              breaker: { failureRate: '50%', minimumCalls: 2, openFor: '60s' },
            },
          },
        },
        routes: [
          { path: '/ws-bug', upstream: 'app', upgrade: ['websocket'] },
          { path: '/*', upstream: 'app' },
        ],
      },
      { logger: log.logger, filters: { headers: quirks } },
    );
  });

  after(async () => {
    await gw.close();
    await upstream.close();
  });

  it('answers 400 to a header undici refuses, logs it at info, and holds nothing against the upstream', async () => {
    const seen = upstream.seen.length;
    for (let i = 0; i < 6; i++) {
      const reply = await call(`${gw.url}/named?name=${encodeURIComponent('雪')}`);
      assert.equal(reply.status, 400);
      assert.equal(reply.json().type, 'urn:sluice:problem:unsendable-request');
    }
    assert.equal(upstream.seen.length, seen, 'nothing was sent, nor retried');
    const line = await log.next((l) => /client error/.test(String(l.msg)));
    assert.equal(line.level, 30);
    assert.match(String(line.err), /invalid x-name header/);
    assert.equal(line.status, 400);
    assert.equal(typeof line.requestId, 'string');
    const ok = await call(`${gw.url}/named?name=alice`);
    assert.equal(ok.status, 200, 'neither the breaker nor outlier ejection counted them');
    assert.equal(upstream.seen.at(-1)?.headers['x-name'], 'alice');
    assert.equal(
      log.lines.find((l) => /upstream failed/.test(String(l.msg))),
      undefined,
      'not logged as an upstream failure',
    );
  });

  it('logs a 500 at error with the request id even when the client has left', async () => {
    const inside = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const socket = connect(gw.address.port, '127.0.0.1');
    socket.on('error', () => {});
    socket.write('GET /bug HTTP/1.1\r\nhost: a\r\nx-request-id: left-early\r\n\r\n');
    await inside;
    socket.destroy();
    const line = await log.next((l) => l.requestId === 'left-early');
    assert.equal(line.level, 50);
    assert.equal(line.status, 500);
    assert.match(String(line.err), /a bug in a filter/);
  });

  it('logs a response node cannot write at error, and keeps serving', async () => {
    await assert.rejects(call(`${gw.url}/bad-body`, { headers: { 'x-request-id': 'bad-body' } }));
    const line = await log.next((l) => l.requestId === 'bad-body');
    assert.equal(line.level, 50);
    assert.equal((await call(`${gw.url}/fine`)).status, 200);
  });

  it('logs a 500 on the Upgrade path at error', async () => {
    const text = await raw(
      gw.address.port,
      'GET /ws-bug HTTP/1.1\r\nhost: a\r\nconnection: upgrade\r\nupgrade: websocket\r\nx-request-id: ws-bug\r\n\r\n',
    );
    assert.match(text, /^HTTP\/1\.1 500 /);
    const line = await log.next((l) => l.requestId === 'ws-bug');
    assert.equal(line.level, 50);
    assert.match(String(line.err), /a bug on the upgrade path/);
  });
});
