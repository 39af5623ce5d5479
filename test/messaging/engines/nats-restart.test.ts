// A private nats-server of this test's own is stopped (SIGTERM) mid-consume and started
// again. JetStream keeps streams and consumers on disk (-sd, a temp dir), so no
// message whose publish resolved may be lost: neither those waiting in the stream nor those a
// consumer held unacknowledged across the restart. Publishes while the server is down are
// rejected, not swallowed; the driver reconnects and the same consumers resume.
//
// One exception is nats-server's, not the driver's: while it shuts down it stops a stream's
// consumers before the stream, and an interest stream (a topic) that has no consumer
// acknowledges a publish without storing it. So an event published in the instant between
// SIGTERM and the server's exit may be lost though its publish resolved; the test checks
// every event resolved before the stop and every one begun after the server was down.
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { isEngineUnavailableError, isTimeoutError } from '../../../src/core/errors.js';
import { connect } from '../../../src/messaging/index.js';
import { waitFor } from '../../conformance/helpers.js';
import { metricValue } from '../../support/metrics.js';
import { startPrivateEngine } from '../../support/private-engine.js';
import { RestartTraffic } from './restart-support.js';

const nats = await startPrivateEngine('nats');
const { url } = nats;
const prefix = `restart${process.pid}x${Date.now().toString(36)}`;
const name = `restart-${prefix}`;

after(() => nats.dispose());

const connection = { driver: 'nats', connection: name };
const connected = () => metricValue('sluice_messaging_connected', connection);
const reconnects = () => metricValue('sluice_messaging_reconnects_total', connection);

it('loses no acknowledged message when nats-server restarts, and the consumers resume', async () => {
  const broker = await connect({
    driver: 'nats',
    url,
    prefix,
    name,
    reconnectTimeWait: 50,
    timeout: 2000,
    // Deliveries and acks lost with the connection come back after this.
    ackWait: 2000,
  });
  try {
    const traffic = await RestartTraffic.start(broker, { pollInterval: 50 });
    assert.equal(await connected(), 1);
    const reconnectsBefore = await reconnects();
    await traffic.restart(nats.restart, async () => {
      await waitFor('the driver to notice', async () => (await connected()) === 0);
      await traffic.rejectsWhileDown();
    });

    const { news } = traffic;
    await traffic.handledAll(traffic.everyQueued, [
      -100,
      ...news.resolvedBeforeStop,
      ...news.resolvedAfterStop,
    ]);
    // Refused while the server is down; a publish in flight when it went down may time out
    // instead (stored or not: a retry with the same id is safe).
    const { rejected } = traffic;
    assert.ok(rejected.length > 0, 'the publishers saw the outage');
    for (const error of rejected) {
      assert.ok(isEngineUnavailableError(error) || isTimeoutError(error), String(error));
    }
    assert.equal(await connected(), 1);
    assert.ok((await reconnects()) > reconnectsBefore, 'the reconnect was counted');
  } finally {
    await broker.close({ drainTimeout: 1000 });
  }
});
