import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Gateway } from '../../src/gateway/gateway.js';
import { call, startUpstream, type TestUpstream } from './helpers.js';

// The test client connects from 127.0.0.1, a trusted proxy here: its forwarded headers
// reach the upstream, which builds links from them as applications commonly do.
describe('gateway cache key against poisoning', () => {
  let upstream: TestUpstream;
  let gw: Gateway;

  before(async () => {
    upstream = await startUpstream((seen, respond) => {
      const host = seen.headers['x-forwarded-host'];
      const proto = seen.headers['x-forwarded-proto'];
      const forwarded = String(seen.headers.forwarded).split(',')[0];
      respond(200, { 'cache-control': 'max-age=60' }, `${proto}://${host} ${forwarded}`);
    });
    gw = await Gateway.start({
      listen: 0,
      trustedProxies: ['127.0.0.1', '::1'],
      routes: [{ path: '/*', upstream: upstream.url, cache: {} }],
    });
  });

  after(async () => {
    await gw.close();
    await upstream.close();
  });

  const host = { host: 'shop.example' };

  for (const [name, hostile] of [
    ['X-Forwarded-Host', { 'x-forwarded-host': 'evil.example' }],
    ['X-Forwarded-Proto', { 'x-forwarded-proto': 'gopher' }],
    ['Forwarded host', { forwarded: 'for=1.2.3.4;host=evil.example' }],
  ] as const) {
    it(`never serves a response made for a hostile ${name} to others`, async () => {
      const path = `/page-${name.replace(/\W/g, '')}`;
      const poisoned = await call(`${gw.url}${path}`, { headers: { ...host, ...hostile } });
      assert.match(poisoned.text, /evil\.example|gopher/);
      const clean = await call(`${gw.url}${path}`, { headers: host });
      assert.doesNotMatch(clean.text, /evil\.example|gopher/);
      assert.match(String(clean.headers['cache-status']), /fwd=miss; stored/);
      const again = await call(`${gw.url}${path}`, { headers: host });
      assert.equal(again.text, clean.text);
      assert.match(String(again.headers['cache-status']), /^sluice; hit/);
    });
  }

  it('still shares one entry among clients whose forwarded headers are the same', async () => {
    const headers = { ...host, 'x-forwarded-host': 'shop.example', 'x-forwarded-for': '9.9.9.9' };
    await call(`${gw.url}/shared`, { headers });
    const other = await call(`${gw.url}/shared`, {
      headers: { ...headers, 'x-forwarded-for': '8.8.8.8' },
    });
    assert.match(String(other.headers['cache-status']), /^sluice; hit/);
  });
});
