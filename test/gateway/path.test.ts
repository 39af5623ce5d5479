import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isHttpProblemError } from '../../src/gateway/errors.js';
import { normaliseTarget } from '../../src/gateway/path.js';
import { compilePath } from '../../src/gateway/router.js';

const rejects = (url: string): void =>
  assert.throws(
    () => normaliseTarget(url),
    (e: unknown) => isHttpProblemError(e) && e.status === 400,
    url,
  );

describe('normaliseTarget', () => {
  it('keeps canonical paths and the raw query', () => {
    assert.deepEqual(normaliseTarget('/a/b?x=%2F'), { path: '/a/b', query: '?x=%2F' });
    assert.deepEqual(normaliseTarget('/'), { path: '/', query: '' });
  });

  it('resolves dot segments, merges slashes, keeps a trailing slash', () => {
    assert.equal(normaliseTarget('/a/./b/../c').path, '/a/c');
    assert.equal(normaliseTarget('//a///b/').path, '/a/b/');
    assert.equal(normaliseTarget('/a/%2e%2E/b').path, '/b');
  });

  it('decodes unreserved bytes and uppercases the escapes it keeps', () => {
    assert.equal(normaliseTarget('/%61pi/x%3ay').path, '/api/x%3Ay');
    assert.equal(normaliseTarget('/caf\u00e9').path, '/caf%C3%A9');
  });

  it('refuses escapes above the root, encoded slashes, double encoding and control bytes', () => {
    rejects('/../etc/passwd');
    rejects('/a/../../b');
    rejects('/%2e%2e/admin');
    rejects('/public%2F..%2Fadmin');
    rejects('/public%5cadmin');
    rejects('/%252e%252e/admin');
    rejects('/a%00b');
    rejects('/a%zz');
    rejects('http://evil/a');
    rejects('*');
  });

  it('keeps escaped UTF-8 and refuses escapes that are not UTF-8', () => {
    assert.equal(normaliseTarget('/caf%c3%a9/%E2%82%AC').path, '/caf%C3%A9/%E2%82%AC');
    rejects('/%C0%AE%C0%AE/admin'); // overlong '.'
    rejects('/a%C0%AFb'); // overlong '/'
    rejects('/%E0%80%AE'); // three-byte overlong '.'
    rejects('/%ED%A0%80'); // a surrogate
    rejects('/%C3'); // truncated
    rejects('/%C3x'); // truncated before a plain byte
    rejects('/%80'); // a stray continuation byte
    rejects('/%F4%90%80%80'); // above U+10FFFF
    rejects('/a\ud800b'); // a lone surrogate (HTTP/2 paths are not byte-checked by node)
  });
});

describe('compilePath', () => {
  it('matches exact, prefix and parameter patterns', () => {
    assert.deepEqual(compilePath('/a')('/a'), {});
    assert.equal(compilePath('/a')('/a/b'), null);
    assert.deepEqual(compilePath('/api/*')('/api/x/y'), { '*': 'x/y' });
    assert.deepEqual(compilePath('/api/*')('/api'), { '*': '' });
    assert.equal(compilePath('/api/*')('/apix'), null);
    assert.deepEqual(compilePath('/u/:id/orders/:o')('/u/7/orders/a%20b'), { id: '7', o: 'a b' });
    assert.equal(compilePath('/u/:id')('/u/7/x'), null);
    assert.deepEqual(compilePath('/u/:id/*')('/u/7/x/y'), { id: '7', '*': 'x/y' });
    assert.deepEqual(compilePath('/*')('/anything'), { '*': 'anything' });
  });
});
