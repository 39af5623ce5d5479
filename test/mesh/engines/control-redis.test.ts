import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { requireEngine } from '../../support/engines.js';
import { twoControlPlanes, uniquePrefix } from './two-planes.js';

const url = process.env.SLUICE_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = uniquePrefix();

describe('mesh control plane on Redis', () => {
  before(() => requireEngine('redis'));
  after(async () => {
    const redis = new Redis(url);
    const keys = await redis.keys(`${prefix}:mesh:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('two control-plane processes serve one mesh; dead registrations expire', async () => {
    await twoControlPlanes(url, prefix);
  });
});
