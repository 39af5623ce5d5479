import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { isSluiceError } from '../../../src/core/errors.js';
import { openPostgresDriver } from '../../../src/messaging/drivers/postgres/driver.js';
import { postgresIdempotencyStore } from '../../../src/messaging/drivers/postgres/idempotency-store.js';
import { PostgresOutbox } from '../../../src/messaging/drivers/postgres/outbox.js';
import {
  type Broker,
  connect,
  idempotent,
  type MessagingDriver,
} from '../../../src/messaging/index.js';
import type { OutboxMessage } from '../../../src/messaging/outbox/outbox.js';
import { unique, waitFor } from '../../conformance/helpers.js';
import { requireEngine } from '../../support/engines.js';

await requireEngine('postgres');

const url = process.env.SLUICE_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `sluice_o_${process.pid}_${Date.now().toString(36)}`;

describe('postgres outbox and idempotency store', () => {
  let pool: pg.Pool;
  let broker: Broker;
  let outbox: PostgresOutbox;
  const open: { close(): Promise<unknown> }[] = [];

  before(async () => {
    broker = await connect({ driver: await openPostgresDriver(url, { schema, poolSize: 4 }) });
    pool = new pg.Pool({ connectionString: url, max: 6 });
    await pool.query(`CREATE TABLE "${schema}".orders (id text PRIMARY KEY, total int NOT NULL)`);
    outbox = await PostgresOutbox.open(pool, { table: `${schema}.outbox` });
  });

  after(async () => {
    for (const o of open.splice(0)) await o.close().catch(() => {});
    await broker.close();
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
  });

  /** The application's own transaction: an order row and its outbox message together. */
  async function placeOrder(id: string, queue: string, commit: boolean): Promise<void> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`INSERT INTO "${schema}".orders (id, total) VALUES ($1, 10)`, [id]);
      await outbox.add(client, { queue, payload: { orderId: id }, id: `order-${id}`, key: id });
      await client.query(commit ? 'COMMIT' : 'ROLLBACK');
    } finally {
      client.release();
    }
  }

  it("publishes what the application's transaction committed, in order, and nothing it rolled back", async () => {
    const queue = broker.queue<{ orderId: string }>(unique('orders'));
    const seen: { id: string; key: string | undefined; orderId: string }[] = [];
    queue.consume((m) => {
      seen.push({ id: m.id, key: m.key, orderId: m.payload.orderId });
    });
    // A long poll: the relay learns of new rows by NOTIFY from the committing transaction.
    const relay = outbox.relay(broker, { pollInterval: 60_000 });
    open.push({ close: () => relay.stop() });
    await waitFor('the relay to start', async () => (await outbox.count()) === 0);
    await placeOrder('a1', queue.name, true);
    await placeOrder('a2', queue.name, false);
    await placeOrder('a3', queue.name, true);
    await waitFor('the committed orders', () => seen.length === 2);
    assert.deepEqual(seen, [
      { id: 'order-a1', key: 'a1', orderId: 'a1' },
      { id: 'order-a3', key: 'a3', orderId: 'a3' },
    ]);
    await waitFor('the rows to be marked sent', async () => (await outbox.count()) === 0);
    await relay.stop();
  });

  it('publishes no duplicate when the relay fails after publishing and before marking sent', async () => {
    const queue = broker.queue<{ orderId: string }>(unique('crash'));
    const real = await openPostgresDriver(url, { schema, poolSize: 2 });
    let crashes = 0;
    // The relay's broker: its first publish reaches the queue, then the relay "dies".
    const enqueue: MessagingDriver['enqueue'] = async (...args) => {
      const outcomes = await real.enqueue(...args);
      if (crashes++ === 0) throw new Error('relay crashed after publishing');
      return outcomes;
    };
    const crashing = new Proxy(real, {
      get(target, property) {
        if (property === 'enqueue') return enqueue;
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const relayBroker = await connect({ driver: crashing });
    open.push(relayBroker);
    const errors: unknown[] = [];
    await placeOrder('b1', queue.name, true);
    const relay = outbox.relay(relayBroker, { pollInterval: 20, onError: (e) => errors.push(e) });
    open.push({ close: () => relay.stop() });
    await waitFor('the retried relay', async () => (await outbox.count()) === 0);
    await relay.stop();
    assert.equal(errors.length, 1, 'the failure was reported');
    assert.equal(crashes, 2, 'the row was published twice');
    assert.equal((await queue.stats()).depth, 1, 'the broker kept one copy');
  });

  it('lets several relays share the outbox without publishing a row twice', async () => {
    const queue = broker.queue<number>(unique('shared'));
    const n = 300;
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      for (let i = 0; i < n; i++) await outbox.add(client, { queue: queue.name, payload: i });
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    let published = 0;
    const relays = [];
    for (let r = 0; r < 3; r++) {
      const real = await openPostgresDriver(url, { schema, poolSize: 2 });
      // Counts what reaches the broker, before any de-duplication could hide a repeat.
      const counting = new Proxy(real, {
        get(target, property) {
          if (property === 'enqueue') {
            return (...args: Parameters<MessagingDriver['enqueue']>) => {
              published += args[1].length;
              return target.enqueue(...args);
            };
          }
          const value: unknown = Reflect.get(target, property, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const relayBroker = await connect({ driver: counting });
      open.push(relayBroker);
      const relay = outbox.relay(relayBroker, { batchSize: 10 });
      open.push({ close: () => relay.stop() });
      relays.push(relay);
    }
    await waitFor('the relays to drain the outbox', async () => (await outbox.count()) === 0);
    for (const relay of relays) await relay.stop();
    assert.equal(published, n);
    const stats = await queue.stats();
    assert.equal(stats.depth, n);
  });

  it('rejects messages naming no destination or both, writing nothing', async () => {
    const client = await pool.connect();
    try {
      await assert.rejects(
        outbox.add(client, { payload: 1 } as unknown as OutboxMessage<number>),
        (e) => isSluiceError(e, 'SLUICE_INVALID_ARGUMENT'),
      );
      await assert.rejects(
        outbox.add(client, { queue: 'a', topic: 'b', payload: 1 }),
        /exactly one/,
      );
    } finally {
      client.release();
    }
    assert.equal(await outbox.count(), 0);
  });

  it("records a processed message in the handler's transaction: both commit or neither", async () => {
    const store = await postgresIdempotencyStore(pool, { table: `${schema}.processed` });
    const queue = broker.queue<{ orderId: string; total: number }>(unique('billing'));
    let failNext = true;
    let runs = 0;
    const consumer = queue.consume(
      idempotent<{ orderId: string; total: number }, pg.PoolClient>(
        async (m, { transaction }) => {
          runs++;
          await transaction(async (tx) => {
            await tx.query(`INSERT INTO "${schema}".orders (id, total) VALUES ($1, $2)`, [
              m.payload.orderId,
              m.payload.total,
            ]);
            if (failNext) {
              failNext = false;
              throw new Error('payment service down');
            }
          });
        },
        { store },
      ),
      { retry: () => 1 },
    );
    await queue.publish({ orderId: 'c1', total: 5 }, { id: 'bill-c1' });
    await waitFor('the retry to succeed', async () => {
      const s = await queue.stats();
      return runs === 2 && s.depth + s.inFlight + s.delayed === 0;
    });
    // Redelivered (as after a crash between commit and ack): no second effect.
    await queue.publish({ orderId: 'c1', total: 5 }, { id: 'bill-c1-again', headers: {} });
    const key = `${queue.name}:bill-c1`;
    assert.equal(await store.has(key), true);
    await assert.rejects(
      store.transaction(key, (tx) => tx.query(`UPDATE "${schema}".orders SET total = 99`)),
      (e) => isSluiceError(e, 'SLUICE_DUPLICATE_MESSAGE'),
    );
    await waitFor('the second message', async () => (await queue.stats()).depth === 0);
    await consumer.stop();
    const { rows } = await pool.query(`SELECT id, total FROM "${schema}".orders WHERE id = 'c1'`);
    assert.deepEqual(rows, [{ id: 'c1', total: 5 }]);
  });

  it('lets one of two concurrent deliveries of a key commit, the other waits and finds it done', async () => {
    const store = await postgresIdempotencyStore(pool, { table: `${schema}.processed` });
    let effects = 0;
    const attempt = () =>
      store.transaction('same-key', async (tx) => {
        await tx.query('SELECT pg_sleep(0.05)');
        effects++;
      });
    const results = await Promise.allSettled([attempt(), attempt()]);
    assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    assert.ok(isSluiceError(rejected.reason, 'SLUICE_DUPLICATE_MESSAGE'));
    assert.equal(effects, 1);
  });
});
