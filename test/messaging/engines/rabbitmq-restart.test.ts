// RabbitMQ itself is stopped mid-consume (rabbitmqctl stop_app: the broker closes every
// connection and stops its queues) and started again (start_app). Quorum queues are durable:
// every message whose publish was confirmed survives, those a consumer held unacknowledged
// across the restart included. Publishes while it is down are rejected
// (SLUICE_ENGINE_UNAVAILABLE); the driver reconnects, re-declares its topology and
// re-subscribes, and the same consumers resume.
//
// This stops the shared node (a private RabbitMQ node is too heavy to start per test run):
// scripts/run-tests.mjs runs this file alone, after every other file has finished.
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { isEngineUnavailableError } from '../../../src/core/errors.js';
import { connect } from '../../../src/messaging/index.js';
import { waitFor } from '../../conformance/helpers.js';
import { requireEngine, restartRabbitmq, startEngine } from '../../support/engines.js';
import { metricValue } from '../../support/metrics.js';
import { dropPrefix, rabbitUrl } from './rabbitmq-support.js';
import { RestartTraffic } from './restart-support.js';

await requireEngine('rabbitmq');

const prefix = `sluice-test-restart-${process.pid}-${Date.now().toString(36)}`;
const connectionName = `restart-test-${process.pid}`;

after(async () => {
  await startEngine('rabbitmq');
  await dropPrefix(prefix);
});

const connection = { driver: 'rabbitmq', connection: connectionName };
const connected = () => metricValue('sluice_messaging_connected', connection);
const reconnects = () => metricValue('sluice_messaging_reconnects_total', connection);

it('loses no confirmed message when RabbitMQ restarts; topology and consumers come back', async () => {
  const broker = await connect({
    driver: 'rabbitmq',
    url: rabbitUrl,
    prefix,
    connectionName,
    reconnectDelay: 20,
    reconnectMaxDelay: 200,
  });
  try {
    const traffic = await RestartTraffic.start(broker);
    assert.equal(await connected(), 1);
    const reconnectsBefore = await reconnects();
    await traffic.restart(restartRabbitmq, async () => {
      await waitFor('the driver to notice', async () => (await connected()) === 0);
      await traffic.rejectsWhileDown();
    });

    await traffic.handledAll(traffic.everyQueued, [-100, ...traffic.news.resolved]);
    const { rejected } = traffic;
    assert.ok(rejected.length > 0, 'the publishers saw the outage');
    for (const error of rejected) assert.ok(isEngineUnavailableError(error), String(error));
    assert.equal(await connected(), 1);
    assert.ok((await reconnects()) > reconnectsBefore, 'the reconnect was counted');
  } finally {
    await broker.close({ drainTimeout: 1000 });
  }
});
