import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Gateway } from '../../src/gateway/gateway.js';
import { createLogger } from '../../src/observe/index.js';
import { call, startUpstream, type TestUpstream } from './helpers.js';

const PAST = new Date(Date.now() - 100_000).toUTCString();

/** Response fields by path; the body names the upstream request's number. */
const FIELDS: Record<string, Record<string, string>> = {
  '/dated': { 'cache-control': 'max-age=3600', date: PAST },
  '/etag': { 'cache-control': 'max-age=3600', etag: '"v1"' },
  '/must-revalidate': { 'cache-control': 'max-age=3600, must-revalidate' },
  '/head': { 'cache-control': 'max-age=3600' },
  '/bad-request': { 'cache-control': 'max-age=3600' },
  '/targeted': { 'cache-control': 'no-store', 'edge-control': 'max-age=3600' },
  '/cdn': { 'cache-control': 'no-store', 'cdn-cache-control': 'max-age=3600' },
  '/bad-expires': { expires: 'Sun, 06 Nov 2099 08:49:37 UTC' },
  '/inv': { 'cache-control': 'max-age=3600' },
  '/inv-located': { 'cache-control': 'max-age=3600' },
  '/inv-kept': { 'cache-control': 'max-age=3600' },
};

describe('gateway cache semantics (RFC 9111)', () => {
  let upstream: TestUpstream;
  let gw: Gateway;
  let count = 0;

  before(async () => {
    upstream = await startUpstream((seen, respond) => {
      count++;
      const path = seen.url.split('?')[0]!;
      if (seen.method === 'POST') {
        const status = path === '/fails' ? 500 : 201;
        respond(status, path === '/create' ? { location: '/inv-located' } : {}, 'posted');
        return;
      }
      respond(path === '/bad-request' ? 400 : 200, FIELDS[path] ?? {}, `n${count}`);
    });
    gw = await Gateway.start({
      listen: 0,
      routes: [{ path: '/*', upstream: upstream.url, cache: { targetedField: 'Edge-Control' } }],
    });
  });

  after(async () => {
    await gw.close();
    await upstream.close();
  });

  const get = (path: string, headers: Record<string, string> = {}) =>
    call(`${gw.url}${path}`, { headers });
  const isHit = (reply: { headers: Record<string, unknown> }) =>
    /^sluice; hit/.test(String(reply.headers['cache-status']));

  it('keeps the stored Date on a hit and says the age in Age (section 4.2.3)', async () => {
    const first = await get('/dated');
    const hit = await get('/dated');
    assert.ok(isHit(hit));
    assert.equal(hit.headers.date, PAST);
    assert.equal(first.headers.date, PAST);
    assert.ok(Number(hit.headers.age) >= 99, `Age ${hit.headers.age}`);
  });

  it("answers a client's If-None-Match from a fresh entry with 304", async () => {
    await get('/etag');
    const seen = upstream.seen.length;
    const reply = await get('/etag', { 'if-none-match': '"v1"' });
    assert.equal(reply.status, 304);
    assert.equal(reply.headers.etag, '"v1"');
    assert.equal(upstream.seen.length, seen);
    const other = await get('/etag', { 'if-none-match': '"v0"' });
    assert.equal(other.status, 200);
  });

  it("forwards a client's validators on a miss", async () => {
    await get('/miss-conditional', { 'if-none-match': '"mine"' });
    assert.equal(upstream.seen.at(-1)?.headers['if-none-match'], '"mine"');
  });

  it('serves a fresh must-revalidate response without revalidating (section 4.2.4)', async () => {
    await get('/must-revalidate');
    assert.ok(isHit(await get('/must-revalidate')));
  });

  it('serves HEAD from a stored GET', async () => {
    const full = await get('/head');
    const seen = upstream.seen.length;
    const reply = await call(`${gw.url}/head`, { method: 'HEAD' });
    assert.equal(reply.status, 200);
    assert.ok(isHit(reply));
    assert.equal(reply.headers['content-length'], String(full.text.length));
    assert.equal(reply.text, '');
    assert.equal(upstream.seen.length, seen);
  });

  it('stores a 400 with explicit freshness, as any final status', async () => {
    const first = await get('/bad-request');
    const second = await get('/bad-request');
    assert.equal(second.status, 400);
    assert.equal(second.text, first.text);
    assert.ok(isHit(second));
  });

  it('follows the configured targeted field and never sends it on (RFC 9213)', async () => {
    await get('/targeted');
    const hit = await get('/targeted');
    assert.ok(isHit(hit));
    assert.equal(hit.headers['edge-control'], undefined);
    await get('/cdn');
    const cdn = await get('/cdn');
    assert.ok(isHit(cdn));
    assert.equal(cdn.headers['cdn-cache-control'], 'max-age=3600');
  });

  it('takes an Expires that is not an HTTP-date as expired', async () => {
    await get('/bad-expires');
    assert.ok(!isHit(await get('/bad-expires')));
  });

  it('drops the target URI after a successful POST, and the Location it names (section 4.4)', async () => {
    for (const path of ['/inv', '/inv-located', '/inv-kept']) await get(path);
    assert.ok(isHit(await get('/inv')));
    await call(`${gw.url}/inv`, { method: 'POST', body: 'x' });
    assert.ok(!isHit(await get('/inv')));
    await call(`${gw.url}/create`, { method: 'POST', body: 'x' });
    assert.ok(!isHit(await get('/inv-located')));
    await call(`${gw.url}/fails`, { method: 'POST', body: 'x' });
    assert.ok(isHit(await get('/inv-kept')));
  });

  it('serves a single byte range from a stored response', async () => {
    const full = await get('/head');
    const part = await get('/head', { range: 'bytes=1-' });
    assert.equal(part.status, 206);
    assert.equal(part.text, full.text.slice(1));
    assert.equal(
      part.headers['content-range'],
      `bytes 1-${full.text.length - 1}/${full.text.length}`,
    );
  });
});

describe('gateway cache when the upstream is unreachable', () => {
  it('serves a stale entry unless the response forbade it (section 4.2.4)', async () => {
    const upstream = await startUpstream((seen, respond) => {
      const strict = seen.url.startsWith('/strict');
      respond(
        200,
        { 'cache-control': `max-age=0${strict ? ', must-revalidate' : ''}`, etag: '"e"' },
        'kept',
      );
    });
    const levels: number[] = [];
    const logger = createLogger({
      name: 'test',
      destination: { write: (line: string) => void levels.push(JSON.parse(line).level) },
    });
    const gw = await Gateway.start(
      { listen: 0, routes: [{ path: '/*', upstream: upstream.url, cache: {} }] },
      { logger },
    );
    try {
      await call(`${gw.url}/loose`);
      await call(`${gw.url}/strict`);
      await upstream.close();
      const loose = await call(`${gw.url}/loose`);
      assert.equal(loose.status, 200);
      assert.equal(loose.text, 'kept');
      assert.match(String(loose.headers['cache-status']), /detail=upstream-unreachable/);
      assert.ok(levels.includes(40), 'the failure is logged at warn');
      assert.equal((await call(`${gw.url}/strict`)).status, 502);
    } finally {
      await gw.close();
    }
  });
});
