import { openRabbitDriver } from '../../../src/messaging/drivers/rabbitmq/driver.js';
import { dropPrefix, rabbitUrl } from '../../messaging/engines/rabbitmq-support.js';
import { requireEngine } from '../../support/engines.js';
import { conformance } from '../suite.js';

await requireEngine('rabbitmq');

const prefix = `sluice-test-conf-${process.pid}-${Date.now().toString(36)}`;

// RabbitMQ has no producer de-duplication: the suite runs with the driver's opt-in,
// one-process de-duplication (the suite publishes from one process). Without it, publishing
// with an id and a dedupe window is SLUICE_UNSUPPORTED (see rabbitmq.test.ts).
conformance({
  name: 'rabbitmq',
  open: () => openRabbitDriver(rabbitUrl, { prefix, localDedupe: true }),
  teardown: () => dropPrefix(prefix),
});
