import { openNatsDriver } from '../../../src/messaging/drivers/nats/driver.js';
import { requireEngine } from '../../support/engines.js';
import { conformance } from '../suite.js';

await requireEngine('nats');

const url = 'nats://127.0.0.1:4222';
const prefix = `conf${process.pid}x${Date.now().toString(36)}`;

conformance({
  name: 'nats',
  open: () => openNatsDriver(url, { prefix }),
  async teardown() {
    const admin = await openNatsDriver(url, { prefix });
    await admin.dropAll();
    await admin.close();
  },
});
