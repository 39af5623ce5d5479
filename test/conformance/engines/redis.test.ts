import { Redis } from 'ioredis';
import { openRedisDriver } from '../../../src/messaging/drivers/redis/driver.js';
import { requireEngine } from '../../support/engines.js';
import { conformance } from '../suite.js';

await requireEngine('redis');

const url = 'redis://127.0.0.1:6379';
const prefix = `sluice-test:conf-${process.pid}-${Date.now().toString(36)}:`;

conformance({
  name: 'redis',
  open: () => openRedisDriver(url, { prefix }),
  async teardown() {
    const admin = new Redis(url);
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await admin.unlink(...keys);
    } while (cursor !== '0');
    await admin.quit();
  },
});
