// A private PostgreSQL cluster of this test's own is stopped (pg_ctl stop -m fast: every
// connection ended) mid-consume and started again. It is durable: every message whose publish resolved
// survives, those a consumer held across the restart included. Publishes while it is down are
// rejected (SLUICE_ENGINE_UNAVAILABLE); the pool and the LISTEN connection reconnect and the
// same consumers resume, woken by notifications again.
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { isEngineUnavailableError } from '../../../src/core/errors.js';
import { connect } from '../../../src/messaging/index.js';
import { waitFor } from '../../conformance/helpers.js';
import { metricValue } from '../../support/metrics.js';
import { startPrivateEngine } from '../../support/private-engine.js';
import { RestartTraffic } from './restart-support.js';

const postgres = await startPrivateEngine('postgres');
const { url } = postgres;
const schema = `sluice_restart_${process.pid}_${Date.now().toString(36)}`;

after(() => postgres.dispose());

const connected = (role: string) =>
  metricValue('sluice_messaging_connected', {
    driver: 'postgres',
    connection: `${schema}/${role}`,
  });
const reconnects = (role: string) =>
  metricValue('sluice_messaging_reconnects_total', {
    driver: 'postgres',
    connection: `${schema}/${role}`,
  });

it('loses nothing when PostgreSQL restarts; the pool and LISTEN reconnect and consumers resume', async () => {
  const broker = await connect({ driver: 'postgres', url, schema, poolSize: 4 });
  try {
    // The group polls once a minute: it sees the events only if notifications reach it again.
    const traffic = await RestartTraffic.start(broker, { pollInterval: 60_000 });
    assert.equal(await connected('pool'), 1);
    assert.equal(await connected('listener'), 1);
    const poolReconnects = await reconnects('pool');
    const listenerReconnects = await reconnects('listener');
    await traffic.restart(postgres.restart, async () => {
      await traffic.rejectsWhileDown();
      assert.equal(await connected('pool'), 0);
      await waitFor('the listener to notice', async () => (await connected('listener')) === 0);
    });

    await traffic.handledAll(traffic.everyQueued, [-100, ...traffic.news.resolved]);
    const { rejected } = traffic;
    assert.ok(rejected.length > 0, 'the publishers saw the outage');
    for (const error of rejected) assert.ok(isEngineUnavailableError(error), String(error));
    await waitFor('the listener', async () => (await connected('listener')) === 1);
    assert.equal(await connected('pool'), 1);
    assert.ok((await reconnects('pool')) > poolReconnects, 'the pool reconnect was counted');
    assert.ok((await reconnects('listener')) > listenerReconnects, 'the LISTEN reconnect');
  } finally {
    await broker.close({ drainTimeout: 1000 });
  }
});
