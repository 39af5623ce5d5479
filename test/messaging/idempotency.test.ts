import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { isSluiceError } from '../../src/core/errors.js';
import {
  type Broker,
  connect,
  idempotent,
  memoryIdempotencyStore,
  sqliteIdempotencyStore,
} from '../../src/messaging/index.js';
import { unique, waitFor } from '../conformance/helpers.js';

describe('idempotent()', () => {
  let broker: Broker;
  let db: Database.Database;
  beforeEach(async () => {
    broker = await connect({ driver: 'memory' });
    db = new Database(':memory:');
    db.exec('CREATE TABLE stock (sku TEXT PRIMARY KEY, qty INTEGER NOT NULL)');
    db.exec("INSERT INTO stock VALUES ('tea', 10)");
  });
  afterEach(async () => {
    await broker.close();
    db.close();
  });
  const qty = () => db.prepare("SELECT qty FROM stock WHERE sku = 'tea'").pluck().get() as number;

  it('applies a message redelivered after its effect committed only once', async () => {
    const queue = broker.queue<{ take: number }>(unique('reserve'));
    const store = sqliteIdempotencyStore(db);
    let calls = 0;
    queue.consume(
      idempotent<{ take: number }, Database.Database>(
        async (m, { transaction }) => {
          calls++;
          await transaction((tx) => {
            tx.prepare("UPDATE stock SET qty = qty - ? WHERE sku = 'tea'").run(m.payload.take);
          });
          // The process "dies" after the commit, before the ack: the message comes back.
          if (m.attempt === 1) throw new Error('crash after commit');
        },
        { store },
      ),
      { retry: () => 1 },
    );
    await queue.publish({ take: 3 });
    await waitFor(
      'the ack',
      async () =>
        (await queue.stats()).depth +
          (await queue.stats()).inFlight +
          (await queue.stats()).delayed ===
        0,
    );
    assert.equal(calls, 1, 'the redelivery was recognised before the handler ran');
    assert.equal(qty(), 7);
  });

  it('keeps one effect when two deliveries of a message race', async () => {
    const store = sqliteIdempotencyStore(db);
    const handler = idempotent<number, Database.Database>(
      async (_m, { transaction }) => {
        await new Promise((r) => setImmediate(r));
        await transaction((tx) =>
          tx.prepare("UPDATE stock SET qty = qty - 1 WHERE sku = 'tea'").run(),
        );
      },
      { store, key: (m) => `order-${m.payload}` },
    );
    const message = (id: string) => ({
      id,
      key: undefined,
      headers: {},
      payload: 42,
      attempt: 1,
      publishedAt: new Date(),
      source: 'orders',
      extendLease: async () => {},
    });
    const signal = new AbortController().signal;
    await Promise.all([handler(message('a'), { signal }), handler(message('b'), { signal })]);
    assert.equal(qty(), 9);
  });

  it('rolls back the effect and the record together when the work throws', async () => {
    const store = sqliteIdempotencyStore(db);
    let attempts = 0;
    const handler = idempotent<number, Database.Database>(
      async (_m, { transaction }) => {
        attempts++;
        await transaction((tx) => {
          tx.prepare("UPDATE stock SET qty = qty - 1 WHERE sku = 'tea'").run();
          if (attempts === 1) throw new Error('constraint failed');
        });
      },
      { store },
    );
    const m = {
      id: 'm',
      key: undefined,
      headers: {},
      payload: 1,
      attempt: 1,
      publishedAt: new Date(),
      source: 'q',
      extendLease: async () => {},
    };
    const signal = new AbortController().signal;
    await assert.rejects(async () => handler(m, { signal }), /constraint failed/);
    assert.equal(qty(), 10);
    assert.equal(await store.has('q:m'), false);
    await handler(m, { signal });
    assert.equal(qty(), 9);
    assert.equal(await store.has('q:m'), true);
  });

  it('records the key after the handler when it never asks for the transaction', async () => {
    const store = memoryIdempotencyStore();
    const queue = broker.queue<string>(unique('plain'));
    const effects: string[] = [];
    queue.consume(
      idempotent<string>(
        (m) => {
          effects.push(m.payload);
        },
        { store, key: (m) => m.payload },
      ),
    );
    await queue.publishBatch([{ payload: 'x' }, { payload: 'x' }, { payload: 'y' }]);
    await waitFor(
      'the queue to empty',
      async () => (await queue.stats()).depth + (await queue.stats()).inFlight === 0,
    );
    assert.deepEqual(effects, ['x', 'y']);
  });

  it('refuses async work inside a sqlite transaction and a second transaction()', async () => {
    const store = sqliteIdempotencyStore(db);
    await assert.rejects(
      store.transaction('k', async () => {}),
      (e) =>
        isSluiceError(e, 'SLUICE_INVALID_ARGUMENT') && /synchronous/.test((e as Error).message),
    );
    assert.equal(await store.has('k'), false);
    const handler = idempotent<number, Database.Database>(
      async (_m, { transaction }) => {
        await transaction(() => {});
        await transaction(() => {});
      },
      { store },
    );
    const m = {
      id: 'twice',
      key: undefined,
      headers: {},
      payload: 1,
      attempt: 1,
      publishedAt: new Date(),
      source: 'q',
      extendLease: async () => {},
    };
    await assert.rejects(
      async () => handler(m, { signal: new AbortController().signal }),
      /may run once/,
    );
  });

  it('rejects a missing store and a table name that is not an identifier', () => {
    assert.throws(() => idempotent(() => {}, {} as never), /needs a store/);
    assert.throws(
      () => sqliteIdempotencyStore(db, { table: 'x; DROP TABLE stock' }),
      /plain SQL identifier/,
    );
  });
});
