import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import {
  type Broker,
  connect,
  type OutboxStore,
  sqliteOutbox,
  startOutboxRelay,
} from '../../src/messaging/index.js';
import { unique, waitFor } from '../conformance/helpers.js';

describe('sqlite outbox', () => {
  let broker: Broker;
  let db: Database.Database;
  beforeEach(async () => {
    broker = await connect({ driver: 'memory' });
    db = new Database(':memory:');
    db.exec('CREATE TABLE orders (id TEXT PRIMARY KEY, total INTEGER NOT NULL)');
  });
  afterEach(async () => {
    await broker.close();
    db.close();
  });
  const count = (table: string) =>
    db.prepare(`SELECT COUNT(*) FROM ${table}`).pluck().get() as number;

  it('publishes what a committed transaction added, and nothing a rolled-back one did', async () => {
    const outbox = sqliteOutbox(db);
    const name = unique('orders');
    const seen: { id: string; payload: unknown }[] = [];
    broker.queue(name).consume((m) => {
      seen.push({ id: m.id, payload: m.payload });
    });
    const placeOrder = db.transaction((id: string, total: number, fail: boolean) => {
      db.prepare('INSERT INTO orders VALUES (?, ?)').run(id, total);
      outbox.add(db, { queue: name, payload: { orderId: id, total }, id: `order-${id}` });
      if (fail) throw new Error('payment declined');
    });
    placeOrder('o1', 30, false);
    assert.throws(() => placeOrder('o2', 50, true), /payment declined/);
    const relay = outbox.relay(broker, { pollInterval: 60_000 });
    await waitFor('the published order', () => seen.length === 1);
    assert.deepEqual(seen, [{ id: 'order-o1', payload: { orderId: 'o1', total: 30 } }]);
    await waitFor('the sent row to be removed', () => count('sluice_outbox') === 0);
    placeOrder('o3', 10, false);
    await waitFor('a wake-up for the next order', () => seen.length === 2);
    await relay.stop();
  });

  it('publishes to topics in order, and refuses a write outside a transaction', async () => {
    const outbox = sqliteOutbox(db);
    const name = unique('order-events');
    const topic = broker.topic<number>(name);
    const seen: number[] = [];
    await topic.subscribe('billing', (m) => {
      seen.push(m.payload);
    });
    db.transaction(() => {
      for (let i = 0; i < 5; i++) outbox.add(db, { topic: name, payload: i });
    })();
    const relay = outbox.relay(broker);
    await waitFor('the events', () => seen.length === 5);
    assert.deepEqual(seen, [0, 1, 2, 3, 4]);
    assert.throws(() => outbox.add(db, { queue: 'q', payload: 1 }), /inside the transaction/);
    assert.throws(
      () => db.transaction(() => outbox.add(db, { queue: 'bad name', payload: 1 }))(),
      /queue name must be/,
    );
    assert.throws(
      () => db.transaction(() => outbox.add(db, { payload: 1 } as never))(),
      /exactly one of queue or topic/,
    );
    await relay.stop();
  });

  it('publishes no duplicate when the relay dies between publishing and marking sent', async () => {
    const outbox = sqliteOutbox(db);
    const name = unique('crashy');
    let failMarks = 1;
    const crashing: OutboxStore<Database.Database> = {
      add: (tx, m) => outbox.add(tx, m),
      pending: (limit) => outbox.pending(limit),
      markSent: async (seqs) => {
        if (failMarks-- > 0) throw new Error('relay killed before marking sent');
        await outbox.markSent(seqs);
      },
      onAdd: (listener) => outbox.onAdd(listener),
    };
    db.transaction(() => {
      outbox.add(db, { queue: name, payload: 'a', id: 'a' });
      outbox.add(db, { queue: name, payload: 'b', id: 'b' });
    })();
    const errors: unknown[] = [];
    const relay = startOutboxRelay(crashing, broker, { onError: (e) => errors.push(e) });
    await waitFor('the rows to be sent', () => count('sluice_outbox') === 0);
    await relay.stop();
    assert.equal(errors.length, 1);
    const stats = await broker.queue(name).stats();
    assert.equal(stats.depth, 2, 'the second publish of a and b was dropped as a duplicate');
  });
});
