import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hashApiKey } from '../../src/gateway/filters/api-key.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { call, startUpstream, type TestUpstream } from './helpers.js';

describe('gateway rate limits', () => {
  let upstream: TestUpstream;
  let gw: Gateway;

  before(async () => {
    upstream = await startUpstream();
    gw = await Gateway.start({
      listen: 0,
      auth: {
        apiKeys: {
          keys: [
            { id: 'a', sha256: hashApiKey('key-a') },
            { id: 'b', sha256: hashApiKey('key-b') },
          ],
        },
      },
      routes: [
        { path: '/login', upstream: upstream.url, rateLimit: { by: 'ip', limit: '2/min' } },
        {
          path: '/keyed/*',
          upstream: upstream.url,
          auth: 'apiKey',
          rateLimit: { by: 'apiKey', limit: '2/min' },
        },
        {
          path: '/both',
          upstream: upstream.url,
          rateLimit: [
            { by: 'route', limit: '100/s' },
            { by: 'ip', limit: '6/h', burst: 2 },
          ],
        },
      ],
    });
  });

  after(async () => {
    await gw.close();
    await upstream.close();
  });

  it('answers 429 with RateLimit and Retry-After headers once the limit is spent', async () => {
    const first = await call(`${gw.url}/login`, { method: 'POST' });
    assert.equal(first.status, 200);
    assert.equal(first.headers['ratelimit-limit'], '2');
    assert.equal(first.headers['ratelimit-remaining'], '1');
    assert.equal((await call(`${gw.url}/login`, { method: 'POST' })).status, 200);
    const seen = upstream.seen.length;
    const third = await call(`${gw.url}/login`, { method: 'POST' });
    assert.equal(third.status, 429);
    assert.equal(third.headers['content-type'], 'application/problem+json');
    assert.equal(third.headers['ratelimit-remaining'], '0');
    assert.ok(Number(third.headers['retry-after']) >= 1);
    assert.equal(upstream.seen.length, seen);
  });

  it('keeps a separate allowance per API key', async () => {
    const a = { 'x-api-key': 'key-a' };
    assert.equal((await call(`${gw.url}/keyed/x`, { headers: a })).status, 200);
    assert.equal((await call(`${gw.url}/keyed/x`, { headers: a })).status, 200);
    assert.equal((await call(`${gw.url}/keyed/x`, { headers: a })).status, 429);
    assert.equal(
      (await call(`${gw.url}/keyed/x`, { headers: { 'x-api-key': 'key-b' } })).status,
      200,
    );
  });

  it('applies every limit of a route and reports the tightest', async () => {
    const ok = await call(`${gw.url}/both`);
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['ratelimit-limit'], '2');
    assert.equal(ok.headers['ratelimit-remaining'], '1');
    assert.equal((await call(`${gw.url}/both`)).status, 200);
    assert.equal((await call(`${gw.url}/both`)).status, 429);
  });
});
