import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isSluiceError } from '../../src/core/errors.js';
import { meshClientFromEnv } from '../../src/mesh/control/sidecar-env.js';
import { MeshControlComponent } from '../../src/runtime/mesh-control.js';
import { quiet, tempDir, trustDomain } from './support.js';

describe('the control plane in the supervisor', () => {
  it('gives each sidecar an environment that gets it its own identity and registers only its own instance', async () => {
    const dir = tempDir();
    const mesh = new MeshControlComponent({
      store: join(dir, 'mesh.db'),
      caDir: join(dir, 'ca'),
      trustDomain,
      logger: quiet,
      policies: { payment: { authorization: { allow: ['fulfillment'] } } },
    });
    await mesh.start();
    try {
      const env = await mesh.sidecarEnv('payment', 'payment-1');
      const client = await meshClientFromEnv(env);
      try {
        assert.equal(client.identity().spiffeId, `spiffe://${trustDomain}/svc/payment`);
        const own = {
          service: 'payment',
          instance: 'payment-1',
          address: '127.0.0.1:7001',
          labels: { version: 'v1' },
          healthy: true,
        };
        await client.register(own);
        await assert.rejects(client.register({ ...own, instance: 'payment-0' }), (e) =>
          isSluiceError(e, 'SLUICE_MESH_FORBIDDEN'),
        );
        assert.deepEqual(
          (await mesh.plane!.registry.endpoints('payment')).endpoints.map((e) => e.instance),
          ['payment-1'],
        );
        assert.deepEqual((await mesh.plane!.registry.policy('payment')).policy, {
          authorization: { allow: ['fulfillment'] },
        });
      } finally {
        await client.close();
      }
      await assert.rejects(
        meshClientFromEnv({ ...env, SLUICE_MESH_TOKEN: '' }),
        /lacks SLUICE_MESH_TOKEN/,
      );
    } finally {
      await mesh.stop();
    }
  });
});
