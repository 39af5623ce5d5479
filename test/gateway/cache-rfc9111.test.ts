import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONFLICT, deltaSeconds, parseCacheControl } from '../../src/gateway/cache-control.js';
import { clientHasIt, entryOf, renewed, validatorsOf } from '../../src/gateway/cache-entry.js';
import {
  type FreshnessOptions,
  freshnessOf,
  initialAge,
} from '../../src/gateway/cache-freshness.js';
import { sameOriginPath } from '../../src/gateway/cache-key.js';
import { byteRange } from '../../src/gateway/cache-range.js';
import { parseTargeted } from '../../src/gateway/cache-targeted.js';
import { onlyIfCached, usable, usableOnError } from '../../src/gateway/cache-use.js';
import { variantOf, varyNames } from '../../src/gateway/cache-variant.js';
import { parseHttpDate } from '../../src/gateway/http-date.js';

const NOW = Date.UTC(2026, 11, 7, 12, 0, 0);
const DATE = new Date(NOW).toUTCString();
const options: FreshnessOptions = {
  targeted: ['sluice-cache-control', 'cdn-cache-control'],
  defaultMaxAge: undefined,
  defaultStaleWhileRevalidate: 0,
};
const fresh = (headers: Record<string, string | string[]>, status = 200, request = {}) =>
  freshnessOf(status, { date: DATE, ...headers }, request, NOW, options);

describe('RFC 9110 section 5.6.7: HTTP-date', () => {
  it('reads the three forms, RFC 850 years within 50 years ahead', () => {
    const t = Date.UTC(1994, 10, 6, 8, 49, 37);
    assert.equal(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT'), t);
    assert.equal(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', NOW), t);
    assert.equal(parseHttpDate('Sun Nov  6 08:49:37 1994'), t);
    assert.equal(parseHttpDate('Thursday, 01-Jan-70 00:00:00 GMT', NOW), Date.UTC(2070, 0, 1));
    assert.equal(parseHttpDate('sun, 06 nov 1994 08:49:37 gmt'), t);
  });

  it('refuses what Date.parse would accept', () => {
    for (const bad of [
      '0',
      'Sun, 06 Nov 1994 08:49:37 UTC',
      'Sun, 06 Nov 1994 08:49:37 +1000',
      'Sun, 06 Nov 94 08:49:37 GMT',
      'Sun 06 Nov 1994 08:49:37 GMT',
      'Sun, 06  Nov 1994 08:49:37 GMT',
      'Sun, 06-Nov-1994 08:49:37 GMT',
      'Sun, 06 Nov 1994 08.49.37 GMT',
      'Sun, 06 Nov 1994 8:49:37 GMT',
      'Sun, 31 Feb 1994 08:49:37 GMT',
    ]) {
      assert.equal(parseHttpDate(bad), null, bad);
    }
    assert.equal(parseHttpDate(['Sun, 06 Nov 1994 08:49:37 GMT', 'x']), null);
  });
});

describe('RFC 9111 section 5.2: Cache-Control parsing', () => {
  it('matches names case-insensitively and reads quoted arguments', () => {
    const cc = parseCacheControl('No-Store, MAX-AGE="60", private="set-cookie, x"');
    assert.equal(cc.get('no-store'), true);
    assert.equal(deltaSeconds(cc, 'max-age'), 60);
    assert.equal(cc.get('private'), 'set-cookie, x');
  });

  it('reads several field lines as one list', () => {
    assert.equal(deltaSeconds(parseCacheControl(['public', 'max-age=5']), 'max-age'), 5);
  });

  it('drops a directive with a space around = or an argument that is not a number', () => {
    assert.equal(deltaSeconds(parseCacheControl('max-age =60'), 'max-age'), undefined);
    assert.equal(deltaSeconds(parseCacheControl('max-age= 60'), 'max-age'), undefined);
    assert.equal(deltaSeconds(parseCacheControl("max-age='60'"), 'max-age'), undefined);
    assert.equal(deltaSeconds(parseCacheControl('max-age=-1'), 'max-age'), undefined);
    assert.equal(deltaSeconds(parseCacheControl('max-age=1.5'), 'max-age'), undefined);
  });

  it('takes a directive repeated with another value as stale', () => {
    const cc = parseCacheControl('max-age=60, max-age=3600');
    assert.equal(cc.get('max-age'), CONFLICT);
    assert.equal(deltaSeconds(cc, 'max-age'), 0);
    assert.equal(deltaSeconds(parseCacheControl('max-age=60, MAX-AGE=60'), 'max-age'), 60);
  });

  it('ignores a directive inside a quoted string and caps delta-seconds at 2^31', () => {
    assert.equal(parseCacheControl('foo="max-age=60"').has('max-age'), false);
    assert.equal(deltaSeconds(parseCacheControl('max-age=99999999999'), 'max-age'), 2 ** 31);
  });
});

describe('RFC 9111 section 3: storing responses', () => {
  it('refuses no-store, private, and a request with Authorization unless allowed', () => {
    assert.equal(fresh({ 'cache-control': 'max-age=60, no-store' }), null);
    assert.equal(fresh({ 'cache-control': 'max-age=60, private' }), null);
    const auth = { authorization: 'Bearer x' };
    assert.equal(fresh({ 'cache-control': 'max-age=60' }, 200, auth), null);
    assert.notEqual(fresh({ 'cache-control': 'max-age=60, public' }, 200, auth), null);
    assert.notEqual(fresh({ 'cache-control': 's-maxage=60' }, 200, auth), null);
    assert.equal(
      fresh({ 'cache-control': 'max-age=60' }, 200, { 'cache-control': 'no-store' }),
      null,
    );
  });

  it('stores any final status with explicit freshness, must-understand only known ones', () => {
    for (const status of [203, 299, 404, 500, 599]) {
      assert.equal(fresh({ 'cache-control': 'max-age=60' }, status)?.lifetime, 60);
    }
    assert.equal(fresh({ 'cache-control': 'max-age=60' }, 206), null);
    assert.equal(fresh({ 'cache-control': 'no-store, must-understand, max-age=60' }, 599), null);
    assert.equal(fresh({ 'cache-control': 'no-store, must-understand, max-age=60' })?.lifetime, 60);
  });

  it('does not keep Vary: * in any spelling', () => {
    const exchange = { status: 200, requestHeaders: {}, requestTime: NOW, responseTime: NOW };
    for (const vary of ['*', 'accept, *', ['accept', '*']]) {
      const headers = { 'cache-control': 'max-age=60', vary };
      assert.equal(entryOf({ ...exchange, headers }, Buffer.alloc(0), options), null);
    }
  });
});

describe('RFC 9111 section 4.2: freshness and age', () => {
  it('prefers s-maxage, then max-age, then Expires minus Date', () => {
    assert.equal(fresh({ 'cache-control': 'max-age=600, s-maxage=60' })?.lifetime, 60);
    const expires = new Date(NOW + 30_000).toUTCString();
    assert.equal(fresh({ 'cache-control': 'max-age=600', expires })?.lifetime, 600);
    assert.equal(fresh({ expires })?.lifetime, 30);
  });

  it('takes an invalid Expires as already expired', () => {
    assert.equal(fresh({ expires: '0' })?.lifetime, 0);
    assert.equal(fresh({ expires: 'Sun, 06 Nov 2099 08:49:37 UTC' })?.lifetime, 0);
  });

  it('gives heuristic freshness from Last-Modified only to heuristically cacheable statuses', () => {
    const lm = { 'last-modified': new Date(NOW - 100_000_000).toUTCString() };
    assert.equal(fresh(lm)?.lifetime, 10_000);
    assert.equal(fresh(lm, 201), null);
    assert.equal(fresh({ ...lm, 'cache-control': 'public' }, 599)?.lifetime, 10_000);
  });

  it('marks no-cache, must-revalidate, proxy-revalidate and s-maxage', () => {
    assert.equal(fresh({ 'cache-control': 'max-age=60, no-cache' })?.noCache, true);
    for (const cc of ['must-revalidate', 'proxy-revalidate', 's-maxage=60']) {
      assert.equal(fresh({ 'cache-control': `max-age=60, ${cc}` })?.mustRevalidate, true, cc);
    }
    assert.equal(fresh({ 'cache-control': 'max-age=60' })?.mustRevalidate, false);
  });

  it('computes the initial age from Date, Age and the response delay', () => {
    assert.equal(initialAge({ date: DATE, age: '30' }, NOW, NOW), 30);
    assert.equal(initialAge({ date: new Date(NOW - 50_000).toUTCString() }, NOW, NOW), 50);
    assert.equal(initialAge({ age: '10' }, NOW - 2_000, NOW), 12);
    for (const bad of ['-1', '1.5', 'old', '']) assert.equal(initialAge({ age: bad }, NOW, NOW), 0);
    assert.equal(initialAge({ age: ['0', 'old'] }, NOW, NOW), 0);
    assert.equal(initialAge({ age: '2147483649' }, NOW, NOW), 2 ** 31);
  });
});

describe('RFC 9213: targeted fields', () => {
  it('reads a Structured Field Dictionary, dropping members of the wrong type', () => {
    assert.deepEqual(
      [...(parseTargeted('max-age=60, no-cache') ?? [])],
      [
        ['max-age', '60'],
        ['no-cache', true],
      ],
    );
    assert.equal(parseTargeted('max-age="60"'), null);
    assert.equal(parseTargeted('max-age=60, &&&'), null);
    assert.equal(parseTargeted('Max-Age=60'), null);
    assert.equal(parseTargeted(''), null);
  });

  it('overrides Cache-Control and Expires, our own field ahead of CDN-Cache-Control', () => {
    assert.equal(
      fresh({ 'cache-control': 'no-store', 'cdn-cache-control': 'max-age=60' })?.lifetime,
      60,
    );
    assert.equal(fresh({ 'cache-control': 'max-age=600', 'cdn-cache-control': 'private' }), null);
    const both = { 'sluice-cache-control': 'max-age=5', 'cdn-cache-control': 'max-age=60' };
    assert.equal(fresh(both)?.lifetime, 5);
    assert.equal(fresh({ 'cache-control': 'no-store', 'cdn-cache-control': 'max-age="60"' }), null);
  });
});

describe('RFC 9111 section 4.3: validation', () => {
  const exchange = { status: 200, requestHeaders: {}, requestTime: NOW, responseTime: NOW };
  const stored = entryOf(
    {
      ...exchange,
      headers: {
        date: DATE,
        etag: 'W/"v1"',
        'last-modified': new Date(NOW - 60_000).toUTCString(),
        'cache-control': 'max-age=60',
        'content-length': '5',
        'x-kept': 'old',
      },
    },
    Buffer.from('hello'),
    options,
  )!;

  it('sends the stored validators', () => {
    assert.deepEqual(Object.keys(validatorsOf(stored)), ['if-none-match', 'if-modified-since']);
  });

  it("answers the client's own If-None-Match, weakly, before If-Modified-Since", () => {
    assert.equal(clientHasIt({ 'if-none-match': '"x", "v1"' }, stored), true);
    assert.equal(clientHasIt({ 'if-none-match': '"x"', 'if-modified-since': DATE }, stored), false);
    assert.equal(clientHasIt({ 'if-modified-since': DATE }, stored), true);
    const before = new Date(NOW - 120_000).toUTCString();
    assert.equal(clientHasIt({ 'if-modified-since': before }, stored), false);
  });

  it('updates stored fields from a 304 but never Content-Length, and keeps the rest', () => {
    const later = NOW + 120_000;
    const renewal = renewed(
      stored,
      {
        ...exchange,
        requestTime: later,
        responseTime: later,
        status: 304,
        headers: { date: new Date(later).toUTCString(), 'content-length': '99', 'x-new': 'yes' },
      },
      options,
    )!;
    assert.equal(renewal.headers['content-length'], '5');
    assert.equal(renewal.headers['x-new'], 'yes');
    assert.equal(renewal.headers['x-kept'], 'old');
    assert.equal(renewal.responseTime, later);
  });

  it('does not renew from a 304 that names another representation', () => {
    const other = { ...exchange, status: 304, headers: { etag: '"v2"' } };
    assert.equal(renewed(stored, other, options), null);
  });
});

describe('RFC 9111 section 4.1: variants', () => {
  it('reads Vary on several lines, and normalises whitespace and Accept-Language', () => {
    assert.deepEqual(varyNames(['Accept', 'accept-language, Accept']), [
      'accept',
      'accept-language',
    ]);
    const vary = 'accept-language, x-thing';
    assert.equal(
      variantOf(vary, { 'accept-language': 'en, FR', 'x-thing': 'a,b' }),
      variantOf(vary, { 'accept-language': 'fr,en', 'x-thing': ['a', ' b'] }),
    );
    assert.notEqual(variantOf('x-thing', {}), variantOf('x-thing', { 'x-thing': '' }));
  });
});

describe('RFC 9111 section 4.4 and RFC 9110 section 14: invalidated paths and ranges', () => {
  it('invalidates Location and Content-Location only within the same origin', () => {
    assert.equal(sameOriginPath('/a?b=1', 'shop.example', '/x'), '/a?b=1');
    assert.equal(sameOriginPath('http://shop.example/c', 'shop.example', '/x'), '/c');
    assert.equal(sameOriginPath('d', 'shop.example', '/x/y'), '/x/d');
    assert.equal(sameOriginPath('http://evil.example/c', 'shop.example', '/x'), null);
  });

  it('serves one satisfiable byte range and nothing else', () => {
    assert.deepEqual(byteRange('bytes=0-4', 10), { start: 0, end: 4 });
    assert.deepEqual(byteRange('bytes=5-', 10), { start: 5, end: 9 });
    assert.deepEqual(byteRange('bytes=-3', 10), { start: 7, end: 9 });
    assert.deepEqual(byteRange('bytes=8-20', 10), { start: 8, end: 9 });
    for (const other of ['bytes=0-1,3-4', 'items=0-1', 'bytes=10-', 'bytes=-0', 'bytes=4-2']) {
      assert.equal(byteRange(other, 10), null, other);
    }
  });
});

describe('RFC 9111 section 5.2.2.4: no-cache', () => {
  it('stores a no-cache response with a validator to revalidate it on use', () => {
    const exchange = { status: 200, requestHeaders: {}, requestTime: NOW, responseTime: NOW };
    const headers = { date: DATE, 'cache-control': 'no-cache', etag: '"a"' };
    const entry = entryOf({ ...exchange, headers }, Buffer.alloc(0), options);
    assert.equal(entry?.freshness.noCache, true);
    assert.equal(entry?.freshness.lifetime, 0);
    const bare = { date: DATE, 'cache-control': 'no-cache' };
    assert.equal(entryOf({ ...exchange, headers: bare }, Buffer.alloc(0), options), null);
  });
});

describe('RFC 9111 sections 4.2.4 and 5.2.1: using a stored response', () => {
  const exchange = { status: 200, requestHeaders: {}, requestTime: NOW, responseTime: NOW };
  const stored = (cc: string) =>
    entryOf(
      { ...exchange, headers: { date: DATE, 'cache-control': cc, etag: '"a"' } },
      Buffer.alloc(0),
      options,
    )!;
  const at = (seconds: number) => NOW + seconds * 1000;

  it('applies must-revalidate only once the response is stale', () => {
    const entry = stored('max-age=60, must-revalidate, stale-while-revalidate=60');
    assert.equal(usable(entry, {}, at(30)), 'fresh');
    assert.equal(usable(entry, {}, at(90)), 'stale');
    assert.equal(usable(entry, { 'cache-control': 'max-stale' }, at(90)), 'stale');
  });

  it('serves stale within stale-while-revalidate, or as far as the request allows', () => {
    const entry = stored('max-age=60, stale-while-revalidate=60');
    assert.equal(usable(entry, {}, at(90)), 'stale-while-revalidate');
    assert.equal(usable(entry, {}, at(130)), 'stale');
    assert.equal(usable(entry, { 'cache-control': 'max-stale=100' }, at(130)), 'fresh');
  });

  it("honours the request's max-age, min-fresh, no-cache and Pragma", () => {
    const entry = stored('max-age=60');
    assert.equal(usable(entry, { 'cache-control': 'max-age=10' }, at(30)), 'stale');
    assert.equal(usable(entry, { 'cache-control': 'min-fresh=40' }, at(30)), 'stale');
    assert.equal(usable(entry, { 'cache-control': 'no-cache' }, at(1)), 'stale');
    assert.equal(usable(entry, { pragma: 'no-cache' }, at(1)), 'stale');
    assert.equal(usable(stored('max-age=60, no-cache'), {}, at(1)), 'stale');
    assert.equal(onlyIfCached({ 'cache-control': 'Only-If-Cached' }), true);
  });

  it('lets a stale entry stand in for a failed upstream unless forbidden', () => {
    assert.equal(usableOnError(stored('max-age=0, stale-if-error=60'), false, at(30)), true);
    assert.equal(usableOnError(stored('max-age=0, stale-if-error=60'), false, at(90)), false);
    assert.equal(usableOnError(stored('max-age=0'), true, at(900)), true);
    assert.equal(usableOnError(stored('max-age=0, must-revalidate'), true, at(1)), false);
    assert.equal(usableOnError(stored('max-age=0, no-cache'), true, at(1)), false);
  });
});
