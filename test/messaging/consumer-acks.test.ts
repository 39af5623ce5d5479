import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { it } from 'node:test';
import { EngineUnavailableError } from '../../src/core/errors.js';
import type { ConsumerErrorEvent } from '../../src/messaging/diagnostics.js';
import type { MessagingDriver, Source } from '../../src/messaging/driver.js';
import { MemoryDriver } from '../../src/messaging/drivers/memory/driver.js';
import { connect } from '../../src/messaging/index.js';
import { gate, waitFor } from '../conformance/helpers.js';

/**
 * A memory driver whose ack writes wait on `ackWrite` (a slow engine's commit), and which
 * tracks every receipt a consumer holds from its claim until its settle call finished.
 */
class SlowAckDriver extends MemoryDriver {
  ackWrite: (receipts: readonly string[]) => Promise<void> = async () => {};
  readonly held = new Set<string>();
  /** The most receipts held at once, counting those a claim asked for. */
  mostHeld = 0;
  acksQueued = 0;
  acksWritten = 0;
  /** Written or failed. */
  acksSettled = 0;
  closedWithAcksPending = false;

  override async claim(...args: Parameters<MessagingDriver['claim']>) {
    this.mostHeld = Math.max(this.mostHeld, this.held.size + args[1].max);
    const result = await super.claim(...args);
    for (const d of result.deliveries) this.held.add(d.receipt);
    return result;
  }

  override async ack(source: Source, receipts: readonly string[]): Promise<void> {
    this.acksQueued += receipts.length;
    try {
      await this.ackWrite(receipts);
      await super.ack(source, receipts);
      this.acksWritten += receipts.length;
    } finally {
      this.acksSettled += receipts.length;
      for (const r of receipts) this.held.delete(r);
    }
  }

  override async release(...args: Parameters<MessagingDriver['release']>) {
    await super.release(...args);
    this.held.delete(args[1]);
  }

  override async close(): Promise<void> {
    this.closedWithAcksPending = this.acksSettled < this.acksQueued;
    await super.close();
  }
}

/** Collects the errors consumers report on the diagnostics channel until `stop()`. */
function consumerErrors(): { events: ConsumerErrorEvent[]; stop: () => void } {
  const events: ConsumerErrorEvent[] = [];
  const onEvent = (event: unknown) => void events.push(event as ConsumerErrorEvent);
  subscribe('sluice:messaging:consumer-error', onEvent);
  return { events, stop: () => unsubscribe('sluice:messaging:consumer-error', onEvent) };
}

it('claims again while acks are queued, but holds at most twice prefetch while they stay unwritten', async () => {
  const driver = new SlowAckDriver();
  const commit = gate();
  driver.ackWrite = () => commit.promise;
  const broker = await connect({ driver });
  const queue = broker.queue<number>('orders');
  for (let i = 0; i < 40; i++) await queue.publish(i);
  const handled: number[] = [];
  const consumer = queue.consume((m) => void handled.push(m.payload), {
    prefetch: 4,
    concurrency: 4,
    pollInterval: 5,
  });
  try {
    await waitFor('two prefetches of acks queued', () => driver.acksQueued >= 8);
    // No ack is written, so nothing more may be claimed: the loop has reached its bound.
    assert.equal(driver.acksQueued, 8);
    assert.equal(handled.length, 8);
    assert.equal(driver.acksWritten, 0);
    assert.equal(driver.held.size, 8);
    commit.open();
    await waitFor('every ack written', () => driver.acksWritten === 40);
    assert.deepEqual(
      [...handled].sort((a, b) => a - b),
      Array.from({ length: 40 }, (_, i) => i),
    );
    assert.equal(driver.mostHeld, 8);
  } finally {
    commit.open();
    await consumer.stop();
    await broker.close();
  }
});

it('frees handler slots once the ack is queued, so handling does not wait for ack writes', async () => {
  const driver = new SlowAckDriver();
  const commit = gate();
  driver.ackWrite = () => commit.promise;
  const broker = await connect({ driver });
  const queue = broker.queue<number>('orders');
  for (let i = 0; i < 3; i++) await queue.publish(i);
  const handled: number[] = [];
  const consumer = queue.consume((m) => void handled.push(m.payload), {
    prefetch: 4,
    concurrency: 1,
  });
  try {
    await waitFor('all three handled one at a time', () => handled.length === 3);
    assert.equal(driver.acksWritten, 0);
    assert.equal(consumer.active, 0);
    commit.open();
    await waitFor('the acks written', () => driver.acksWritten === 3);
  } finally {
    commit.open();
    await consumer.stop();
    await broker.close();
  }
});

it('reports a queued ack that fails to write, and the message comes back after its lease', async () => {
  const driver = new SlowAckDriver();
  let failures = 1;
  driver.ackWrite = async () => {
    if (failures-- > 0) throw new EngineUnavailableError('the engine is restarting');
  };
  const errors = consumerErrors();
  const broker = await connect({ driver });
  const queue = broker.queue<string>('orders');
  await queue.publish('a');
  const attempts: number[] = [];
  const consumer = queue.consume((m) => void attempts.push(m.attempt), {
    leaseTimeout: 100,
    pollInterval: 10,
  });
  try {
    await waitFor('the redelivered message acked', () => driver.acksWritten === 1);
    assert.deepEqual(attempts, [1, 2]);
    assert.deepEqual(
      errors.events.map((e) => [e.source, e.operation, (e.error as Error).name]),
      [['orders', 'ack', 'EngineUnavailableError']],
    );
    const stats = await queue.stats();
    assert.equal(stats.depth + stats.inFlight + stats.delayed, 0);
  } finally {
    errors.stop();
    await consumer.stop();
    await broker.close();
  }
});

it('stop waits for queued acks to be written before it resolves', async () => {
  const driver = new SlowAckDriver();
  const commit = gate();
  driver.ackWrite = () => commit.promise;
  const broker = await connect({ driver });
  const queue = broker.queue<string>('orders');
  await queue.publish('a');
  await queue.publish('b');
  const consumer = queue.consume(() => {}, { prefetch: 2, concurrency: 2 });
  await waitFor('both acks queued', () => driver.acksQueued === 2);
  let stopped = false;
  const stopping = consumer.stop().then(() => {
    stopped = true;
  });
  // The write finishes only once stop is otherwise done: the consumer must still wait for it.
  await new Promise<void>((resolve) => setImmediate(resolve));
  assert.equal(stopped, false);
  commit.open();
  await stopping;
  assert.equal(driver.acksWritten, 2);
  const stats = await queue.stats();
  assert.equal(stats.depth + stats.inFlight, 0);
  await broker.close();
});

it('broker close waits for queued acks, and reports one that fails, before closing the driver', async () => {
  const driver = new SlowAckDriver();
  const commit = gate();
  driver.ackWrite = async () => {
    await commit.promise;
    throw new EngineUnavailableError('the engine went away');
  };
  const errors = consumerErrors();
  const broker = await connect({ driver });
  const queue = broker.queue<string>('orders');
  await queue.publish('a');
  queue.consume(() => {});
  try {
    await waitFor('the ack queued', () => driver.acksQueued === 1);
    let closed = false;
    const closing = broker.close().then(() => {
      closed = true;
    });
    await new Promise<void>((resolve) => setImmediate(resolve));
    assert.equal(closed, false);
    commit.open();
    await closing;
    assert.equal(driver.closedWithAcksPending, false);
    assert.deepEqual(
      errors.events.map((e) => e.operation),
      ['ack'],
    );
  } finally {
    errors.stop();
  }
});
