import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isSluiceError } from '../../src/core/errors.js';
import { requireInstalled } from '../../src/flow/optional-dependency.js';

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
