import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Gateway } from '../../src/gateway/gateway.js';
import { createLogger } from '../../src/observe/index.js';
import { call } from './helpers.js';
import { head, type RawRequest, type RawUpstream, startRawUpstream } from './raw-upstream.js';

const HELLO = head('200 OK', { etag: '"a"', 'cache-control': 'max-age=0', 'content-length': '5' });
const SWR = head('200 OK', {
  'cache-control': 'max-age=0, stale-while-revalidate=60',
  'content-length': '5',
});

/** Sends the head and part of a 100-byte body, then resets the connection. */
function resetMidBody(socket: Socket, fields: Record<string, string>): void {
  socket.write(`${head('200 OK', { 'content-length': '100', ...fields })}partial`, () =>
    setImmediate(() => socket.resetAndDestroy()),
  );
}

/** What the upstream does with each path: the first request is fine, the next ones are not. */
const ANSWERS: Record<string, (request: RawRequest, socket: Socket, count: number) => void> = {
  '/ok': (_r, socket) => socket.write(`${head('200 OK', { 'content-length': '4' })}fine`),
  // Revalidation answered by a 304 claiming a body it does not send.
  '/304-wrong-length': (r, socket) => {
    if (r.headers['if-none-match']) {
      socket.write(head('304 Not Modified', { etag: '"a"', 'content-length': '99' }));
    } else socket.write(`${HELLO}hello`);
  },
  // Revalidation answered by a 304 that does carry a body.
  '/304-with-body': (r, socket) => {
    if (r.headers['if-none-match']) {
      socket.write(`${head('304 Not Modified', { etag: '"a"', 'content-length': '5' })}hello`);
    } else socket.write(`${HELLO}hello`);
  },
  // Revalidation answered by a new response cut off mid-body.
  '/revalidation-reset': (r, socket) => {
    if (r.headers['if-none-match']) resetMidBody(socket, { 'cache-control': 'max-age=60' });
    else socket.write(`${HELLO}hello`);
  },
  // The background stale-while-revalidate refresh cut off mid-body, storable or not.
  '/swr-reset': (_r, socket, count) => {
    if (count > 1) resetMidBody(socket, { 'cache-control': 'max-age=60' });
    else socket.write(`${SWR}hello`);
  },
  '/swr-unstorable-reset': (_r, socket, count) => {
    if (count > 1) resetMidBody(socket, { 'cache-control': 'no-store' });
    else socket.write(`${SWR}hello`);
  },
  // The refresh's 304 has a wrong length too.
  '/swr-304-wrong-length': (r, socket) => {
    if (r.headers['if-none-match']) {
      socket.write(head('304 Not Modified', { etag: '"a"', 'content-length': '99' }));
    } else {
      const fields = { etag: '"a"', 'cache-control': 'max-age=0, stale-while-revalidate=60' };
      socket.write(`${head('200 OK', { ...fields, 'content-length': '5' })}hello`);
    }
  },
};

describe('gateway cache against a hostile upstream', () => {
  let upstream: RawUpstream;
  let gw: Gateway;
  const counts = new Map<string, number>();

  before(async () => {
    upstream = await startRawUpstream((request, socket) => {
      const count = (counts.get(request.url) ?? 0) + 1;
      counts.set(request.url, count);
      ANSWERS[request.url]?.(request, socket, count);
    });
    gw = await Gateway.start(
      {
        listen: 0,
        upstreams: { raw: { targets: [upstream.url], bodyTimeout: '2s', headersTimeout: '2s' } },
        routes: [{ path: '/*', upstream: 'raw', cache: {} }],
      },
      { logger: createLogger({ name: 'test', level: 'silent' }) },
    );
  });

  after(async () => {
    await gw.close();
    await upstream.close();
  });

  /**
   * Two requests (store, then revalidate or refresh), then the gateway must still serve.
   * An unheard 'error' would end this very process, failing the whole file.
   */
  async function survives(path: string): Promise<void> {
    const first = await call(`${gw.url}${path}`);
    assert.equal(first.text, 'hello');
    const second = await call(`${gw.url}${path}`).catch(() => null);
    if (second !== null && second.status === 200) assert.equal(second.text, 'hello');
    else if (second !== null) assert.equal(second.status, 502);
    const ok = await call(`${gw.url}/ok`);
    assert.equal(ok.status, 200);
    assert.equal(ok.text, 'fine');
  }

  for (const path of Object.keys(ANSWERS).filter((p) => p !== '/ok')) {
    it(`keeps serving after ${path.slice(1).replaceAll('-', ' ')}`, () => survives(path));
  }
});
