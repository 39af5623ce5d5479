import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Gateway } from '../../src/gateway/gateway.js';
import { call } from './helpers.js';

/**
 * An upstream with a cache of its own in front (it says so in Cache-Status), and a
 * resource whose GETs can be held at the upstream after it has read the current state.
 */
async function startOrigin() {
  let state = 'old';
  const held: (() => void)[] = [];
  const arrived: (() => void)[] = [];
  let holding = false;
  const server: Server = createServer((req, res) => {
    req.resume();
    if (req.url === '/chained') {
      res.writeHead(200, {
        'cache-control': 'max-age=60',
        'cache-status': 'OriginCache; hit; ttl=100',
      });
      res.end('chained');
      return;
    }
    if (req.url === '/chained-private') {
      res.writeHead(200, { 'cache-control': 'private', 'cache-status': 'OriginCache; fwd=miss' });
      res.end('private');
      return;
    }
    if (req.method === 'POST') {
      state = 'new';
      res.writeHead(204);
      res.end();
      return;
    }
    const body = state;
    const answer = (): void => {
      res.writeHead(200, { 'cache-control': 'max-age=600' });
      res.end(body);
    };
    if (!holding) return answer();
    held.push(answer);
    arrived.shift()?.();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    /** Holds the next GETs; resolves once one has read the state and is waiting. */
    holdNext(): Promise<void> {
      holding = true;
      return new Promise((resolve) => arrived.push(resolve));
    },
    release(): void {
      holding = false;
      for (const answer of held.splice(0)) answer();
    },
  };
}

describe('the cache in a chain of caches and under invalidation', () => {
  let origin: Awaited<ReturnType<typeof startOrigin>>;
  let gw: Gateway;

  before(async () => {
    origin = await startOrigin();
    gw = await Gateway.start({
      listen: 0,
      metrics: false,
      routes: [{ path: '/*', upstream: origin.url, cache: {} }],
    });
  });

  after(async () => {
    await gw.close();
    await new Promise<void>((resolve) => origin.server.close(() => resolve()));
  });

  it("appends its Cache-Status member after the upstream cache's (RFC 9211)", async () => {
    const miss = await call(`${gw.url}/chained`);
    assert.equal(
      miss.headers['cache-status'],
      'OriginCache; hit; ttl=100, sluice; fwd=miss; stored',
    );
    const hit = await call(`${gw.url}/chained`);
    assert.match(
      String(hit.headers['cache-status']),
      /^OriginCache; hit; ttl=100, sluice; hit; ttl=\d+$/,
    );
    const uncached = await call(`${gw.url}/chained-private`);
    assert.equal(uncached.headers['cache-status'], 'OriginCache; fwd=miss, sluice; fwd=miss');
  });

  it('stores nothing from a miss that was in flight when its URL was invalidated', async () => {
    const arrived = origin.holdNext();
    const before = call(`${gw.url}/item`);
    await arrived; // the upstream has read the old state and holds its answer
    const post = await call(`${gw.url}/item`, { method: 'POST', body: 'x' });
    assert.equal(post.status, 204);
    origin.release();
    const first = await before;
    assert.equal(first.text, 'old');
    assert.match(String(first.headers['cache-status']), /fwd=miss$/);
    const after = await call(`${gw.url}/item`);
    assert.equal(after.text, 'new', 'the response from before the change was not stored');
    assert.match(String(after.headers['cache-status']), /fwd=miss; stored/);
  });
});
