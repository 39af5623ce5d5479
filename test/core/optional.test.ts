import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isSluiceError } from '../../src/core/errors.js';
import { loadOptional, requireInstalled } from '../../src/core/optional.js';

test('a missing optional peer is a DependencyMissingError naming the package', () => {
  const missing = 'sluice-no-such-peer-package';
  assert.throws(
    () => requireInstalled(missing, 'redisGcra'),
    (e) => {
      assert.ok(isSluiceError(e, 'SLUICE_DEPENDENCY_MISSING'));
      assert.match(e.message, /sluice-no-such-peer-package/);
      assert.match(e.message, /npm install sluice-no-such-peer-package/);
      return true;
    },
  );
});

test('an installed optional peer passes', () => {
  assert.doesNotThrow(() => requireInstalled('ioredis', 'redisGcra'));
});

test('loadOptional names a package that is not installed', async () => {
  await assert.rejects(
    loadOptional(
      'sluice-no-such-peer-package',
      'the test driver',
      () => import(`sluice-no-such-peer-package-${Date.now()}`),
    ),
    (e: unknown) =>
      isSluiceError(e, 'SLUICE_DEPENDENCY_MISSING') &&
      /the test driver needs the package "sluice-no-such-peer-package"/.test((e as Error).message),
  );
});

test('loadOptional passes on other failures, and the module when it loads', async () => {
  const broken = new TypeError('the package threw while loading');
  await assert.rejects(
    loadOptional('pg', 'x', () => Promise.reject(broken)),
    (e) => e === broken,
  );
  const pg = await loadOptional('pg', 'x', () => import('pg'));
  assert.equal(typeof pg.default.Pool, 'function');
});
