// The connection is cut under the driver mid-consume by a TCP proxy on 127.0.0.1 that the
// test controls: the driver must report failed publishes, reconnect, re-declare, re-subscribe
// and resume, delivering every message whose publish resolved.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import amqp from 'amqplib';
import { isSluiceError } from '../../../src/core/errors.js';
import { openRabbitDriver } from '../../../src/messaging/drivers/rabbitmq/driver.js';
import { connect } from '../../../src/messaging/index.js';
import { requireEngine } from '../../support/engines.js';
import { metricValue } from '../../support/metrics.js';
import { waitFor } from '../../support/wait-for.js';
import { dropPrefix, rabbitUrl, TcpProxy } from './rabbitmq-support.js';

await requireEngine('rabbitmq');

it('reconnects, re-declares and re-subscribes after the connection drops, reporting failed publishes', async () => {
  const prefix = `sluice-test-conn-${process.pid}-${Date.now().toString(36)}`;
  const proxy = new TcpProxy();
  const port = await proxy.listen();
  const connectionName = `conn-test-${process.pid}`;
  const driver = await openRabbitDriver(`amqp://guest:guest@127.0.0.1:${port}`, {
    prefix,
    connectionName,
    reconnectDelay: 20,
    reconnectMaxDelay: 100,
  });
  const broker = await connect({ driver });
  try {
    const queue = broker.queue<number>('jobs');
    const events = broker.topic<number>('events');
    const handled = new Set<number>();
    const groupHandled = new Set<number>();
    queue.consume(
      async (m) => {
        await delay(2);
        handled.add(m.payload);
      },
      { prefetch: 8, concurrency: 2, pollInterval: 50 },
    );
    await events.subscribe('audit', (m) => {
      groupHandled.add(m.payload);
    });
    const probe = broker.queue<string>('probe');
    const probed: string[] = [];
    probe.consume((m) => {
      probed.push(m.payload);
    });
    await probe.publish('before');
    await waitFor('the probe consumer', () => probed.length === 1);
    const stored = new Set<number>();
    await queue.publishBatch(Array.from({ length: 50 }, (_, i) => ({ payload: i })));
    for (let i = 0; i < 50; i++) stored.add(i);
    await events.publish(1000);
    await waitFor('some handled', () => handled.size >= 10);

    const connection = { driver: 'rabbitmq', connection: connectionName };
    const connected = () => metricValue('sluice_messaging_connected', connection);
    const reconnects = () => metricValue('sluice_messaging_reconnects_total', connection);
    const jobs = { driver: 'rabbitmq', destination: 'jobs' };
    assert.equal(await metricValue('sluice_messaging_published_total', jobs), 50);
    assert.equal(await metricValue('sluice_messaging_publish_failures_total', jobs), 0);
    assert.equal(await connected(), 1);
    assert.equal(await reconnects(), 0);
    proxy.cut();
    let failure: unknown;
    for (let i = 100; failure === undefined && i < 10_000; i++) {
      try {
        await queue.publish(i);
        stored.add(i);
      } catch (error) {
        failure = error;
      }
      await delay(1);
    }
    assert.ok(
      isSluiceError(failure, 'SLUICE_ENGINE_UNAVAILABLE'),
      `expected the publish to be rejected as unavailable, got ${String(failure)}`,
    );
    await assert.rejects(queue.publish(-1), (e) => isSluiceError(e, 'SLUICE_ENGINE_UNAVAILABLE'));
    assert.equal(await connected(), 0);
    assert.equal(await metricValue('sluice_messaging_publish_failures_total', jobs), 2);

    // Behind the driver's back, while it is cut off: only a re-declaration brings this back.
    const admin = await amqp.connect(rabbitUrl);
    await (await admin.createChannel()).deleteQueue(`${prefix}/q/probe`);
    await admin.close();
    proxy.restore();
    let resumed = false;
    await waitFor('publishes to succeed again', async () => {
      try {
        await queue.publish(20_000);
        stored.add(20_000);
        resumed = true;
      } catch {
        resumed = false;
      }
      return resumed;
    });
    await queue.publishBatch(Array.from({ length: 50 }, (_, i) => ({ payload: 10_000 + i })));
    for (let i = 0; i < 50; i++) stored.add(10_000 + i);
    await events.publish(1001);
    await probe.publish('after');
    await waitFor('the re-declared, re-subscribed probe', () => probed.length === 2);
    await waitFor('every stored message handled', () => [...stored].every((p) => handled.has(p)));
    await waitFor('both events handled by the group', () => groupHandled.size === 2);
    assert.equal(handled.has(-1), false);
    await waitFor('the queue to drain', async () => {
      const s = await queue.stats();
      return s.depth + s.inFlight === 0;
    });
    assert.equal(await connected(), 1);
    assert.ok((await reconnects()) >= 1, 'the reconnect was not counted');
    assert.equal(await metricValue('sluice_messaging_depth', jobs), 0);
    assert.equal(await metricValue('sluice_messaging_published_total', jobs), stored.size);
  } finally {
    await broker.close({ drainTimeout: 1000 });
    await proxy.close();
    await dropPrefix(prefix);
  }
});

it('localDedupe keeps the id of a publish whose confirm was lost, so its retry stores no second copy', async () => {
  const prefix = `sluice-test-unknown-${process.pid}-${Date.now().toString(36)}`;
  const proxy = new TcpProxy();
  const port = await proxy.listen();
  const driver = await openRabbitDriver(`amqp://guest:guest@127.0.0.1:${port}`, {
    prefix,
    localDedupe: true,
    reconnectDelay: 20,
    reconnectMaxDelay: 100,
  });
  const broker = await connect({ driver });
  const admin = await amqp.connect(rabbitUrl);
  const ch = await admin.createChannel();
  const ready = async () => (await ch.checkQueue(`${prefix}/q/jobs`)).messageCount;
  try {
    const queue = broker.queue<string>('jobs');
    // Opens the publish channel and measures the room, both of which need answers.
    await queue.publish('order 0', { id: 'order-0' });
    proxy.hold();
    const first = queue.publish('order 1', { id: 'order-1' });
    first.catch(() => {});
    await waitFor('the broker to store the held publish', async () => (await ready()) === 2);
    proxy.cut();
    await assert.rejects(first, (e) => isSluiceError(e, 'SLUICE_ENGINE_UNAVAILABLE'));
    proxy.restore();
    let retry: { duplicate: boolean } | undefined;
    await waitFor('the retry to be answered', async () => {
      retry = await queue.publish('order 1', { id: 'order-1' }).catch(() => undefined);
      return retry !== undefined;
    });
    assert.equal(retry?.duplicate, true, 'the retry stored a second copy');
    assert.equal(await ready(), 2);
    // A publish the broker surely did not take (the connection was down) frees its id.
    proxy.cut();
    await waitFor('the driver to see the cut', async () =>
      queue
        .publish('order 2', { id: 'order-2' })
        .then(() => false)
        .catch(() => true),
    );
    proxy.restore();
    await waitFor('order 2 to be stored on retry', async () => {
      const r = await queue.publish('order 2', { id: 'order-2' }).catch(() => undefined);
      return r !== undefined && !r.duplicate;
    });
    assert.equal(await ready(), 3);
  } finally {
    await admin.close();
    await broker.close({ drainTimeout: 1000 });
    await proxy.close();
    await dropPrefix(prefix);
  }
});
