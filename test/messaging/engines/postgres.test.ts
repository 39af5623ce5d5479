import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { isSluiceError } from '../../../src/core/errors.js';
import {
  openPostgresDriver,
  type PostgresDriver,
} from '../../../src/messaging/drivers/postgres/driver.js';
import { claimSql } from '../../../src/messaging/drivers/postgres/leases.js';
import type { PostgresDriverOptions } from '../../../src/messaging/drivers/postgres/options.js';
import { connect } from '../../../src/messaging/index.js';
import { metricsRegistry } from '../../../src/observe/registry.js';
import { unique, waitFor } from '../../conformance/helpers.js';
import { requireEngine } from '../../support/engines.js';

await requireEngine('postgres');

const url = process.env.SLUICE_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `sluice_t_${process.pid}_${Date.now().toString(36)}`;

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

function indexesIn(node: PlanNode): string[] {
  const own = node['Index Name'] === undefined ? [] : [node['Index Name']];
  return [...own, ...(node.Plans ?? []).flatMap(indexesIn)];
}

function nodeTypes(node: PlanNode): string[] {
  return [node['Node Type'], ...(node.Plans ?? []).flatMap(nodeTypes)];
}

describe('postgres driver', () => {
  let admin: pg.Client;
  let driver: PostgresDriver;
  /** Closed after the tests even when one fails, so no connection keeps the process alive. */
  const open: { close(): Promise<unknown> }[] = [];

  before(async () => {
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
    driver = await openPostgresDriver(url, { schema, poolSize: 4 });
  });

  after(async () => {
    for (const o of open.splice(0)) await o.close().catch(() => {});
    await driver.close();
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  });

  it('creates its schema idempotently, even when several processes open at once', async () => {
    const drivers = await Promise.all(
      [1, 2, 3].map(() => openPostgresDriver(url, { schema, poolSize: 1 })),
    );
    await Promise.all(drivers.map((d) => d.close()));
    const { rows } = await admin.query(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`,
      [schema],
    );
    assert.deepEqual(
      rows.map((r) => r.table_name),
      [
        'dead_letters',
        'dedupe',
        'groups',
        'messages',
        'schema_version',
        'stream_entries',
        'stream_offsets',
        'streams',
      ],
    );
  });

  it('runs no DDL when the schema is current, so opening never waits on live traffic', async () => {
    // ROW EXCLUSIVE (what every publish holds) conflicts with the SHARE lock of CREATE INDEX.
    const traffic = new pg.Client({ connectionString: url });
    await traffic.connect();
    open.push({ close: () => traffic.end() });
    await traffic.query('BEGIN');
    await traffic.query(
      `LOCK TABLE "${schema}".messages, "${schema}".dedupe IN ROW EXCLUSIVE MODE`,
    );
    try {
      const opened = openPostgresDriver(url, { schema, poolSize: 1 });
      const stalled = new Promise<'stalled'>((resolve) =>
        setTimeout(resolve, 10_000, 'stalled').unref(),
      );
      const result = await Promise.race([opened, stalled]);
      assert.notEqual(result, 'stalled', 'open waited on the lock');
      await (await opened).close();
    } finally {
      await traffic.query('ROLLBACK');
    }
  });

  it('claims through the index that matches the claim query', async () => {
    // Enough rows over enough sources that a sequential scan would be the planner's choice
    // if the index did not fit the query.
    await admin.query(
      `INSERT INTO "${schema}".messages (source, id, key, headers, body, published_at, due_at)
       SELECT 'q:bulk-' || (i % 50), 'm' || i, CASE WHEN i % 3 = 0 THEN 'k' || (i % 7) END,
              '{}', '1', 0, i
       FROM generate_series(1, 20000) AS i`,
    );
    await admin.query(`ANALYZE "${schema}".messages`);
    const s = `"${schema}"`;
    for (const orderByKey of [false, true]) {
      const { rows } = await admin.query(`EXPLAIN (FORMAT JSON) ${claimSql(s, orderByKey)}`, [
        'q:bulk-7',
        10,
        30_000,
      ]);
      const plan = (rows[0]['QUERY PLAN'] as { Plan: PlanNode }[])[0]!.Plan;
      const indexes = indexesIn(plan);
      assert.ok(indexes.includes('messages_claim'), `claim plan uses ${indexes.join(', ')}`);
      assert.ok(!nodeTypes(plan).includes('Seq Scan'), 'no sequential scan');
      assert.ok(!nodeTypes(plan).includes('Sort'), 'the index order is the claim order');
      if (orderByKey)
        assert.ok(indexes.includes('messages_key'), 'the head-of-key lookup uses messages_key');
    }
    await admin.query(`DELETE FROM "${schema}".messages WHERE source LIKE 'q:bulk-%'`);
  });

  it('leases rows with lease_until and hands a stale receipt nothing', async () => {
    const source = { kind: 'queue', queue: unique('lease') } as const;
    await driver.enqueue(
      source,
      [{ id: 'a', dedupe: false, key: undefined, headers: {}, body: '"a"', delayMs: 0 }],
      { dedupeWindowMs: 0, maxLength: 10, overflow: 'reject' },
    );
    const first = await driver.claim(source, { max: 5, leaseMs: 60_000, orderByKey: false });
    const { rows } = await admin.query(
      `SELECT lease_until - "${schema}".now_ms() AS left, attempt FROM "${schema}".messages
       WHERE source = $1`,
      [`q:${source.queue}`],
    );
    assert.equal(rows.length, 1);
    assert.ok(Number(rows[0].left) > 50_000 && Number(rows[0].left) <= 60_000);
    assert.equal(rows[0].attempt, 1);
    await driver.release(source, first.deliveries[0]!.receipt, { delayMs: 0, countAttempt: false });
    const second = await driver.claim(source, { max: 5, leaseMs: 60_000, orderByKey: false });
    assert.equal(second.deliveries[0]!.attempt, 1, 'an uncounted release gives the attempt back');
    await driver.ack(source, [first.deliveries[0]!.receipt]);
    assert.equal((await driver.stats(source)).inFlight, 1, 'the stale receipt acked nothing');
    await driver.ack(source, [second.deliveries[0]!.receipt]);
    assert.equal((await driver.stats(source)).inFlight, 0);
  });

  it('keeps de-duplicating a producer id after its message was consumed and deleted', async () => {
    const broker = await connect({
      driver: await openPostgresDriver(url, { schema, poolSize: 2 }),
    });
    open.push(broker);
    const queue = broker.queue<string>(unique('dd'));
    await queue.publish('x', { id: 'order-7' });
    const seen: string[] = [];
    queue.consume((m) => {
      seen.push(m.id);
    });
    await waitFor('the delivery', () => seen.length === 1);
    await waitFor('the ack', async () => (await queue.stats()).inFlight === 0);
    assert.equal((await queue.publish('x', { id: 'order-7' })).duplicate, true);
    const { rows } = await admin.query(
      `SELECT count(*)::int AS n FROM "${schema}".messages WHERE source = $1`,
      [`q:${queue.name}`],
    );
    assert.equal(rows[0].n, 0, 'the acked row was deleted');
  });

  it('commits concurrent publishes together yet answers each caller on its own', async () => {
    const broker = await connect({
      driver: await openPostgresDriver(url, { schema, poolSize: 2 }),
    });
    open.push(broker);
    const dedupe = broker.queue<number>(unique('together'));
    const same = await Promise.all([1, 2, 3, 4].map((n) => dedupe.publish(n, { id: 'once' })));
    assert.deepEqual(
      same.map((r) => r.duplicate),
      [false, true, true, true],
    );
    const many = await Promise.all(Array.from({ length: 50 }, (_, n) => dedupe.publish(n)));
    assert.equal(new Set(many.map((r) => r.id)).size, 50);
    assert.equal((await dedupe.stats()).depth, 51);

    const full = broker.queue<number>(unique('near-full'), { maxLength: 5, overflow: 'reject' });
    const settled = await Promise.allSettled(Array.from({ length: 8 }, (_, n) => full.publish(n)));
    const refused = settled.filter((r) => r.status === 'rejected');
    assert.equal(settled.length - refused.length, 5);
    for (const r of refused) assert.ok(isSluiceError(r.reason, 'SLUICE_QUEUE_FULL'));
    assert.equal((await full.stats()).depth, 5);
  });

  it('exports connection state and consumer lag under the names every driver uses', async () => {
    const broker = await connect({
      driver: await openPostgresDriver(url, { schema, poolSize: 2 }),
    });
    open.push(broker);
    const queue = broker.queue<number>(unique('lag'));
    await queue.publishBatch([1, 2, 3].map((payload) => ({ payload })));
    const labels = `driver="postgres",destination="${queue.name}",group=""`;
    let text = await metricsRegistry().metrics();
    assert.ok(text.includes(`sluice_messaging_consumer_lag{${labels}} 3`), 'the lag before');
    assert.ok(text.includes(`sluice_messaging_published_total{${labels}} 3`), 'the publishes');
    for (const role of ['listener', 'pool']) {
      const series = `sluice_messaging_connected{driver="postgres",connection="${schema}/${role}"} 1`;
      assert.ok(text.includes(series), series);
    }
    queue.consume(() => {});
    await waitFor('the acks', async () => {
      const stats = await queue.stats();
      return stats.depth + stats.inFlight === 0;
    });
    text = await metricsRegistry().metrics();
    assert.ok(text.includes(`sluice_messaging_consumer_lag{${labels}} 0`), 'the lag after');
  });

  it('listens only while the process consumes, and still wakes consumers of other processes', async () => {
    const publisherName = unique('sluice-publisher');
    const consumerName = unique('sluice-consumer');
    const publisher = await connect({
      driver: await openPostgresDriver(url, {
        schema,
        poolSize: 2,
        applicationName: publisherName,
      }),
    });
    open.push(publisher);
    const consumerSide = await connect({
      driver: await openPostgresDriver(url, { schema, poolSize: 2, applicationName: consumerName }),
    });
    open.push(consumerSide);
    /** The LISTEN or UNLISTEN each session of `name` ran last. */
    const listening = async (name: string) => {
      const { rows } = await admin.query(
        `SELECT query FROM pg_stat_activity WHERE application_name = $1 AND query ~ '^(UN)?LISTEN'`,
        [name],
      );
      return rows.map((r) => (r.query as string).split(' ')[0]);
    };
    const name = unique('wake');
    await publisher.queue<string>(name).publish('before');
    assert.deepEqual(await listening(publisherName), [], 'a process that only publishes');
    assert.deepEqual(await listening(consumerName), []);

    const seen: string[] = [];
    // A poll far beyond the waits below: only notifications bring the later publishes.
    const consumer = consumerSide
      .queue<string>(name)
      .consume((m) => void seen.push(m.payload), { pollInterval: 600_000 });
    await waitFor('what was published before the consumer started', () => seen.length === 1);
    await waitFor('the consumer to listen', async () => {
      const state = await listening(consumerName);
      return state.length === 1 && state[0] === 'LISTEN';
    });
    await publisher.queue<string>(name).publish('after');
    await waitFor('the wake-up from the publishing process', () => seen.length === 2);
    assert.deepEqual(seen, ['before', 'after']);
    assert.deepEqual(await listening(publisherName), [], 'still only publishing');

    await consumer.stop();
    await waitFor('the last consumer gone, no more listening', async () => {
      const state = await listening(consumerName);
      return state.length === 1 && state[0] === 'UNLISTEN';
    });
  });

  it('rejects a bad schema name and a closed driver', async () => {
    await assert.rejects(openPostgresDriver(url, { schema: 'Robert"); DROP' }), (e) =>
      isSluiceError(e, 'SLUICE_INVALID_ARGUMENT'),
    );
    await assert.rejects(
      openPostgresDriver(url, { schema, poolsize: 3 } as unknown as PostgresDriverOptions),
      /poolsize/,
    );
    await assert.rejects(openPostgresDriver('', { schema }), /needs url/);
    const d = await openPostgresDriver(url, { schema, poolSize: 1 });
    await d.close();
    await assert.rejects(d.stats({ kind: 'queue', queue: 'q' }), (e) =>
      isSluiceError(e, 'SLUICE_CLOSED'),
    );
  });
});
