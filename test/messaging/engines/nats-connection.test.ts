// The connection to NATS dropped mid-consume, through a TCP proxy this test cuts and
// restores (the shared server itself keeps running): the driver reconnects and the
// consumer resumes; a publish attempted while the connection is down rejects.
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { isSluiceError } from '../../../src/core/errors.js';
import { openNatsDriver } from '../../../src/messaging/drivers/nats/driver.js';
import { connect } from '../../../src/messaging/index.js';
import { requireEngine } from '../../support/engines.js';
import { metricValue } from '../../support/metrics.js';
import { waitFor } from '../../support/wait-for.js';

await requireEngine('nats');

const direct = 'nats://127.0.0.1:4222';

/**
 * Forwards to the server until cut; while cut, it drops every connection at once. While
 * blackholed it keeps connections open but forwards nothing, as a dead network path does.
 */
class TcpProxy {
  readonly #sockets = new Set<Socket>();
  readonly #server: Server;
  #cut = false;
  blackhole = false;

  constructor() {
    this.#server = createServer((client) => {
      if (this.#cut) {
        client.destroy();
        return;
      }
      const upstream = tcpConnect(4222, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.on('data', (data) => this.blackhole || upstream.write(data));
      upstream.on('data', (data) => this.blackhole || client.write(data));
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    const address = this.#server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    return `nats://127.0.0.1:${address.port}`;
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

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

it('reconnects and resumes consuming after the connection drops; a publish during the outage rejects', async () => {
  const prefix = `conn${process.pid}x${Date.now().toString(36)}`;
  const proxy = new TcpProxy();
  const viaProxy = await proxy.listen();
  const name = `proxy-${prefix}`;
  const driver = await openNatsDriver(viaProxy, {
    prefix,
    name,
    reconnectTimeWait: 50,
    timeout: 2000,
  });
  const broker = await connect({ driver });
  const other = await connect({ driver: await openNatsDriver(direct, { prefix }) });
  try {
    const queue = broker.queue<number>('jobs');
    const seen: number[] = [];
    const attempts: number[] = [];
    const hold = gate();
    let holding = false;
    queue.consume(
      async (m) => {
        seen.push(m.payload);
        attempts.push(m.attempt);
        if (m.payload === 3) {
          holding = true;
          await hold.promise;
        }
      },
      { pollInterval: 50, leaseTimeout: 60_000 },
    );
    await queue.publishBatch([1, 2, 3].map((payload) => ({ payload })));
    await waitFor('the first messages', () => seen.length === 3 && holding);
    // The acks of 1 and 2 must reach the server before the path dies (else they come back).
    await waitFor('their acks', async () => (await queue.stats()).inFlight === 1);
    const connection = { driver: 'nats', connection: name };
    const connected = () => metricValue('sluice_messaging_connected', connection);
    const reconnects = () => metricValue('sluice_messaging_reconnects_total', connection);
    assert.equal(await connected(), 1);
    const reconnectsBefore = await reconnects();

    // A publish sent into a dead path is not acknowledged: it rejects, it is not swallowed.
    proxy.blackhole = true;
    await assert.rejects(queue.publish(98, { id: 'sent-into-the-void' }), (e) =>
      isSluiceError(e, 'SLUICE_TIMEOUT'),
    );
    proxy.cut();
    proxy.blackhole = false;
    await waitFor('the driver to notice', () => !driver.connected);
    assert.equal(await connected(), 0);
    await assert.rejects(queue.publish(99, { id: 'lost-in-outage' }), (e) =>
      isSluiceError(e, 'SLUICE_ENGINE_UNAVAILABLE'),
    );
    // Published by another client meanwhile: waiting for the consumer once it is back.
    await other.queue<number>('jobs').publishBatch([4, 5, 6].map((payload) => ({ payload })));
    await delay(100);
    assert.deepEqual(seen, [1, 2, 3]);

    proxy.restore();
    await waitFor('the reconnect', () => driver.connected);
    // The handler that ran across the outage finishes, and its ack reaches the server.
    hold.open();
    await waitFor('the consumer to resume', () => seen.length === 6);
    assert.deepEqual(seen, [1, 2, 3, 4, 5, 6]);
    assert.equal(await reconnects(), reconnectsBefore + 1);
    assert.equal(await connected(), 1);
    // Publishing works again, and the rejected message was never stored.
    await queue.publish(7);
    await waitFor('the next message', () => seen.length === 7);
    assert.equal(seen.includes(99) || seen.includes(98), false);
    assert.deepEqual(attempts, [1, 1, 1, 1, 1, 1, 1]);
    await waitFor('acks', async () => (await queue.stats()).inFlight === 0);
    assert.equal((await queue.stats()).depth, 0);
    // The two publishes that rejected count as failed, not as stored (the process counts
    // both brokers' publishes: 1-3 and 7 here, 4-6 by the other).
    const jobs = { driver: 'nats', destination: 'jobs' };
    assert.equal(await metricValue('sluice_messaging_publish_failures_total', jobs), 2);
    assert.equal(await metricValue('sluice_messaging_published_total', jobs), 7);
  } finally {
    await broker.close({ drainTimeout: 1000 });
    await proxy.close();
    const admin = await openNatsDriver(direct, { prefix });
    await admin.dropAll();
    await admin.close();
    await other.close();
  }
});

it('closes promptly while the connection is down, and the messages it held come back', async () => {
  const prefix = `down${process.pid}x${Date.now().toString(36)}`;
  const proxy = new TcpProxy();
  const driver = await openNatsDriver(await proxy.listen(), {
    prefix,
    reconnectTimeWait: 50,
    ackWait: 1000,
  });
  const broker = await connect({ driver });
  const other = await connect({ driver: await openNatsDriver(direct, { prefix }) });
  try {
    await other.queue<string>('held').publish('x');
    const started = gate();
    broker.queue<string>('held').consume(async (_m, { signal }) => {
      started.open();
      await new Promise((resolve) => signal.addEventListener('abort', resolve));
    });
    await started.promise;
    proxy.cut();
    await waitFor('the driver to notice', () => !driver.connected);
    await broker.close({ drainTimeout: 50 });
    // Its ack never reached the server: once ack_wait runs out, another consumer gets it.
    const attempts: number[] = [];
    other.queue<string>('held').consume(
      (m) => {
        attempts.push(m.attempt);
      },
      { pollInterval: 50 },
    );
    await waitFor('the redelivery', () => attempts.length === 1);
    assert.deepEqual(attempts, [2]);
  } finally {
    await proxy.close();
    const admin = await openNatsDriver(direct, { prefix });
    await admin.dropAll();
    await admin.close();
    await other.close();
  }
});
