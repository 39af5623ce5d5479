import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Registry } from 'prom-client';
import { isInvalidArgumentError } from '../../src/core/errors.js';
import type { MeshControl } from '../../src/mesh/contract.js';
import { Sidecar } from '../../src/mesh/sidecar/sidecar.js';

const options = {
  service: 'orders',
  // Never reached: the options are refused before anything starts.
  control: {} as MeshControl,
  appPort: 1,
  listen: { host: '127.0.0.1', port: 0 },
};

it('refuses a drain timeout that is not a finite number of ms >= 0 when it is made, not at stop', () => {
  for (const drainTimeoutMs of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(
      () => new Sidecar({ ...options, drainTimeoutMs, registry: new Registry() }),
      isInvalidArgumentError,
      String(drainTimeoutMs),
    );
  }
  assert.ok(new Sidecar({ ...options, drainTimeoutMs: 0, registry: new Registry() }));
});
