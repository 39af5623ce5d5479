import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Gateway } from '../../src/gateway/gateway.js';
import { call, startUpstream, type TestUpstream } from './helpers.js';

describe('gateway resilience', () => {
  let flaky: TestUpstream;
  let failing: TestUpstream;
  let hanging: TestUpstream;
  const arrivals: (() => void)[] = [];
  const closes: (() => void)[] = [];
  const held: (() => void)[] = [];
  const nextArrival = () => new Promise<void>((r) => arrivals.push(r));
  const nextClose = () => new Promise<void>((r) => closes.push(r));
  /** Long enough for a request already on the wire to arrive. */
  const settle = () => delay(200).then(() => false);
  let failNext = 0;
  let gw: Gateway;

  before(async () => {
    flaky = await startUpstream((_, respond) => {
      if (failNext > 0) {
        failNext--;
        respond(503, {}, '{"down":true}');
      } else respond(200);
    });
    failing = await startUpstream((_, respond) => respond(500, {}, '{}'));
    failing.server.removeAllListeners('request');
    failing.server.on('request', (_req, res) => res.writeHead(503).end('no'));
    hanging = await startUpstream();
    hanging.server.removeAllListeners('request');
    hanging.server.on('request', (req, res) => {
      if (req.url === '/held') held.push(() => res.writeHead(200).end('done'));
      arrivals.shift()?.();
      req.socket.once('close', () => closes.shift()?.());
    });
    gw = await Gateway.start({
      listen: 0,
      upstreams: {
        flaky: { targets: [flaky.url], resilience: { retry: { attempts: 3, delay: '1ms' } } },
        failing: {
          targets: [failing.url],
          outlier: false,
          resilience: { breaker: { failureRate: '50%', minimumCalls: 2, openFor: '1m' } },
        },
        hanging: { targets: [hanging.url], resilience: { timeout: '100ms' } },
        held: { targets: [hanging.url], resilience: { timeout: '30s', bulkhead: 1 } },
      },
      routes: [
        { path: '/flaky', upstream: 'flaky' },
        { path: '/failing', upstream: 'failing' },
        { path: '/hanging', upstream: 'hanging' },
        { path: '/held', upstream: 'held' },
      ],
    });
  });

  after(async () => {
    await gw.close();
    await Promise.all([flaky.close(), failing.close(), hanging.close()]);
  });

  it('retries an idempotent request after an upstream 503', async () => {
    failNext = 1;
    const seen = flaky.seen.length;
    assert.equal((await call(`${gw.url}/flaky`)).status, 200);
    assert.equal(flaky.seen.length - seen, 2);
  });

  it('does not retry a POST without Idempotency-Key, and passes the 503 through', async () => {
    failNext = 1;
    const seen = flaky.seen.length;
    const reply = await call(`${gw.url}/flaky`, { method: 'POST' });
    assert.equal(reply.status, 503);
    assert.equal(reply.text, '{"down":true}');
    assert.equal(flaky.seen.length - seen, 1);
  });

  it('retries a POST carrying an Idempotency-Key when its body is buffered or empty', async () => {
    failNext = 1;
    const seen = flaky.seen.length;
    const reply = await call(`${gw.url}/flaky`, {
      method: 'POST',
      headers: { 'idempotency-key': 'k1' },
    });
    assert.equal(reply.status, 200);
    assert.equal(flaky.seen.length - seen, 2);
  });

  it('opens the breaker for a failing upstream and stops calling it', async () => {
    for (let i = 0; i < 2; i++) assert.equal((await call(`${gw.url}/failing`)).status, 503);
    const open = await call(`${gw.url}/failing`);
    assert.equal(open.status, 503);
    assert.equal(open.json().type, 'urn:sluice:problem:circuit-open');
  });

  it('times out with 504 and aborts the upstream request', async () => {
    // On a starved machine the 100 ms can run out before the request reaches the upstream,
    // which then has nothing to cancel: try again until one arrived in time.
    for (let attempt = 1; ; attempt++) {
      let arrived = false;
      const arrival = nextArrival().then(() => {
        arrived = true;
      });
      const closed = nextClose();
      const reply = await call(`${gw.url}/hanging`);
      assert.equal(reply.status, 504);
      assert.equal(reply.json().type, 'urn:sluice:problem:upstream-timeout');
      if (arrived || (await Promise.race([arrival.then(() => true), settle()]))) {
        await closed; // the upstream sees its connection closed: the work was cancelled
        return;
      }
      arrivals.length = 0;
      closes.length = 0;
      assert.ok(attempt < 20, 'no request reached the upstream within its timeout');
    }
  });

  it('rejects with 503 when the bulkhead is full', async () => {
    const arrived = nextArrival();
    const slow = call(`${gw.url}/held`);
    await arrived;
    const busy = await call(`${gw.url}/held`);
    assert.equal(busy.status, 503);
    assert.equal(busy.json().type, 'urn:sluice:problem:upstream-busy');
    held.shift()!();
    assert.equal((await slow).status, 200);
    const arrivedAgain = nextArrival();
    const again = call(`${gw.url}/held`);
    await arrivedAgain;
    held.shift()!();
    assert.equal((await again).status, 200, 'the slot is free again');
  });
});
