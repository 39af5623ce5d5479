// The connection is cut under the driver mid-consume by a TCP proxy on 127.0.0.1 that the
// test controls: the driver must report failed publishes, reconnect, re-declare, re-subscribe
// and resume, delivering every message whose publish resolved.
import assert from 'node:assert/strict';
import { connect as connectTcp, createServer, type Server, type Socket } from 'node:net';
import { it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import amqp from 'amqplib';
import { isSluiceError } from '../../../src/core/errors.js';
import { openRabbitDriver } from '../../../src/messaging/drivers/rabbitmq/driver.js';
import { connect } from '../../../src/messaging/index.js';
import { metricsRegistry } from '../../../src/observe/registry.js';
import { requireEngine } from '../../support/engines.js';
import { dropPrefix, rabbitUrl } from './rabbitmq-support.js';

await requireEngine('rabbitmq');

/** Forwards to RabbitMQ until cut; while cut, refuses new connections at once. */
class TcpProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #cut = false;

  constructor() {
    this.#server = createServer((client) => {
      if (this.#cut) {
        client.destroy();
        return;
      }
      const upstream = connectTcp({ host: '127.0.0.1', port: 5672 });
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('error', () => {});
        s.on('close', () => this.#sockets.delete(s));
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return (this.#server.address() as { port: number }).port;
  }

  cut(): void {
    this.#cut = true;
    for (const s of this.#sockets) s.destroy();
  }

  restore(): void {
    this.#cut = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}

async function metricValue(name: string, label: string, value: string): Promise<number> {
  const metric = await metricsRegistry().getSingleMetric(name)?.get();
  return metric?.values.find((v) => v.labels[label] === value)?.value ?? 0;
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(10);
  }
}

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

    const connected = () =>
      metricValue('sluice_messaging_rabbitmq_connected', 'connection', connectionName);
    const reconnects = () =>
      metricValue('sluice_messaging_rabbitmq_reconnects_total', 'connection', connectionName);
    const acksBefore = await metricValue(
      'sluice_messaging_rabbitmq_publish_confirms_total',
      'outcome',
      'ack',
    );
    assert.ok(acksBefore >= 50, 'publisher confirms are not counted');
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
    assert.equal(await metricValue('sluice_messaging_rabbitmq_consumer_lag', 'source', 'jobs'), 0);
  } finally {
    await broker.close({ drainTimeout: 1000 });
    await proxy.close();
    await dropPrefix(prefix);
  }
});
