import { test } from 'node:test';
import { openNatsDriver } from '../../../src/messaging/drivers/nats/driver.js';
import { requireEngine } from '../../support/engines.js';
import { orderFlowOn, runPrefix } from './flow.js';

await requireEngine('nats');

const url = 'nats://127.0.0.1:4222';

test('the storefront flow passes on NATS JetStream with only the messaging section changed', {
  timeout: 180_000,
}, async () => {
  const prefix = runPrefix();
  try {
    await orderFlowOn({ driver: 'nats', url }, prefix);
  } finally {
    const admin = await openNatsDriver(url, { prefix });
    await admin.dropAll();
    await admin.close();
  }
});
