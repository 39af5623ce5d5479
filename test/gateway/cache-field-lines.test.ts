import assert from 'node:assert/strict';
import { after, before, describe, it, mock } from 'node:test';
import { MemoryCacheStore } from '../../src/gateway/cache-store.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { createLogger } from '../../src/observe/index.js';
import { call } from './helpers.js';
import { head, type RawUpstream, startRawUpstream } from './raw-upstream.js';

// RFC 9110 section 5.3: a field sent as several lines is one comma-separated list.
describe('gateway cache with fields on several lines', () => {
  let upstream: RawUpstream;
  let gw: Gateway;
  const lines: { level: number; msg: string }[] = [];
  let version = 0;

  before(async () => {
    upstream = await startRawUpstream((request, socket) => {
      version++;
      const body = `v${version}:${request.headers['accept-language'] ?? ''}`;
      const fields: Record<string, string | string[]> = {
        'content-length': String(body.length),
        'cache-control': ['public', 'max-age=60'],
      };
      if (request.url === '/two-vary') fields.vary = ['Accept-Language', 'Accept'];
      if (request.url === '/two-cc-no-store') fields['cache-control'] = ['max-age=60', 'no-store'];
      socket.write(head('200 OK', fields) + body);
    });
    const logger = createLogger({
      name: 'test',
      destination: { write: (line: string) => void lines.push(JSON.parse(line)) },
    });
    gw = await Gateway.start(
      { listen: 0, routes: [{ path: '/*', upstream: upstream.url, cache: {} }] },
      { logger },
    );
  });

  after(async () => {
    mock.restoreAll();
    await gw.close();
    await upstream.close();
  });

  it('stores a response with two Cache-Control lines and serves it', async () => {
    const first = await call(`${gw.url}/two-cc`);
    assert.equal(first.status, 200);
    assert.match(String(first.headers['cache-status']), /stored/);
    const second = await call(`${gw.url}/two-cc`);
    assert.equal(second.text, first.text);
    assert.match(String(second.headers['cache-status']), /^sluice; hit/);
  });

  it('reads a directive on the second Cache-Control line', async () => {
    const first = await call(`${gw.url}/two-cc-no-store`);
    assert.equal(first.status, 200);
    assert.doesNotMatch(String(first.headers['cache-status']), /stored/);
  });

  it('keeps variants of a response with two Vary lines apart, and serves them', async () => {
    const fr = await call(`${gw.url}/two-vary`, { headers: { 'accept-language': 'fr' } });
    const de = await call(`${gw.url}/two-vary`, { headers: { 'accept-language': 'de' } });
    assert.equal(fr.status, 200);
    assert.match(fr.text, /:fr$/);
    assert.match(de.text, /:de$/);
    const again = await call(`${gw.url}/two-vary`, { headers: { 'accept-language': 'fr' } });
    assert.equal(again.status, 200);
    assert.equal(again.text, fr.text);
    assert.match(String(again.headers['cache-status']), /^sluice; hit/);
  });

  it('logs a fault of its own at error and answers from the upstream', async () => {
    mock.method(MemoryCacheStore.prototype, 'variants', () => {
      throw new TypeError('the store broke');
    });
    const reply = await call(`${gw.url}/fault`);
    mock.restoreAll();
    assert.equal(reply.status, 200);
    const logged = lines.find((line) => line.msg.startsWith('cache filter failed'));
    assert.ok(logged, 'the fault is logged');
    assert.equal(logged.level, 50);
  });
});
