import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { isSluiceError } from '../../../src/core/errors.js';
import type { OutgoingRecord } from '../../../src/messaging/driver.js';
import {
  openPostgresDriver,
  type PostgresDriver,
} from '../../../src/messaging/drivers/postgres/driver.js';
import { connect } from '../../../src/messaging/index.js';
import { unique } from '../../conformance/helpers.js';
import { requireEngine } from '../../support/engines.js';
import { metricValue } from '../../support/metrics.js';

await requireEngine('postgres');

const url = process.env.SLUICE_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `sluice_hot_${process.pid}_${Date.now().toString(36)}`;
const s = `"${schema}"`;
const open = { dedupeWindowMs: 60_000, maxLength: 1_000, overflow: 'reject' } as const;

function record(id: string, extra: Partial<OutgoingRecord> = {}): OutgoingRecord {
  return { id, dedupe: false, key: undefined, headers: {}, body: `"${id}"`, delayMs: 0, ...extra };
}

/** Counts the statements `driver` sends while `work` runs. */
async function statementsDuring(driver: PostgresDriver, work: () => Promise<unknown>) {
  const pool = driver.pool;
  const query = pool.query.bind(pool);
  let count = 0;
  (pool as { query: unknown }).query = (...args: Parameters<typeof query>) => {
    count++;
    return query(...args);
  };
  try {
    await work();
  } finally {
    (pool as { query: unknown }).query = query;
  }
  return count;
}

describe('postgres driver hot path', () => {
  let admin: pg.Client;
  let driver: PostgresDriver;

  before(async () => {
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
    driver = await openPostgresDriver(url, { schema, poolSize: 4 });
  });

  after(async () => {
    await driver.close();
    await admin.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
    await admin.end();
  });

  it('stores null keys, empty headers and no delay sent as single NULLs, and mixed rows exactly', async () => {
    const queue = { kind: 'queue', queue: unique('columns') } as const;
    await driver.enqueue(queue, [record('plain-1'), record('plain-2')], open);
    await driver.enqueue(
      queue,
      [
        record('mixed-1'),
        record('mixed-2', { key: 'k', headers: { traceparent: 't' }, delayMs: 60_000 }),
        record('mixed-3'),
      ],
      open,
    );
    const { rows } = await admin.query(
      `SELECT id, key, headers, due_at - published_at AS delay FROM ${s}.messages
       WHERE source = $1 ORDER BY seq`,
      [`q:${queue.queue}`],
    );
    assert.deepEqual(
      rows.map((r) => [r.id, r.key, r.headers, Number(r.delay)]),
      [
        ['plain-1', null, '{}', 0],
        ['plain-2', null, '{}', 0],
        ['mixed-1', null, '{}', 0],
        ['mixed-2', 'k', '{"traceparent":"t"}', 60_000],
        ['mixed-3', null, '{}', 0],
      ],
    );
    const claimed = await driver.claim(queue, { max: 10, leaseMs: 30_000, orderByKey: false });
    assert.deepEqual(
      claimed.deliveries.map((d) => [d.id, d.key, d.headers]),
      [
        ['plain-1', undefined, {}],
        ['plain-2', undefined, {}],
        ['mixed-1', undefined, {}],
        ['mixed-3', undefined, {}],
      ],
    );
  });

  /** Stores `records` in a fresh queue and claims them back, in order. */
  async function roundTrip(records: OutgoingRecord[]) {
    const queue = { kind: 'queue', queue: unique('round-trip') } as const;
    await driver.enqueue(queue, records, open);
    const claim = { max: records.length + 1, leaseMs: 30_000, orderByKey: false };
    return (await driver.claim(queue, claim)).deliveries;
  }

  it('stores bodies byte for byte: quotes, backslashes, escapes, non-ASCII, in order', async () => {
    const bodies = [
      JSON.stringify({ say: 'he said "hi"', path: 'C:\\temp\\x', nul: '\u0000', tab: '\t' }),
      JSON.stringify('line\nbreak and \\n, emoji \u{1f375}, é, 中文'),
      JSON.stringify(['\ud800', '}', '{', ',', '"', '\\"']),
      '"\\u0000 as six characters"',
      '[]',
    ];
    const deliveries = await roundTrip(bodies.map((body, i) => record(`b${i}`, { body })));
    assert.deepEqual(
      deliveries.map((d) => d.body),
      bodies,
    );
  });

  it('stores producer ids that an array literal would have to quote or escape', async () => {
    const ids = ['NULL', 'a,b', '{x}', ' spaced ', 'say "hi"', 'C:\\dir', '\\"', 'é中'];
    const deliveries = await roundTrip(ids.map((id) => record(id)));
    assert.deepEqual(
      deliveries.map((d) => d.id),
      ids,
    );
  });

  it('de-duplicates producer ids within a batch and against the window in one statement', async () => {
    const queue = { kind: 'queue', queue: unique('dedupe') } as const;
    const mark = (id: string) => record(id, { dedupe: true });
    const first = await driver.enqueue(
      queue,
      [mark('a'), record('gen'), mark('a'), mark('b')],
      open,
    );
    assert.deepEqual(first, ['stored', 'stored', 'duplicate', 'stored']);
    const again = await statementsDuring(driver, async () => {
      assert.deepEqual(await driver.enqueue(queue, [mark('b'), mark('c')], open), [
        'duplicate',
        'stored',
      ]);
    });
    assert.equal(again, 1, 'one round trip for de-dupe, insert and NOTIFY');
    assert.equal((await driver.stats(queue)).depth, 4);
  });

  it('claims in one round trip, and says in it when more comes due', async () => {
    const queue = { kind: 'queue', queue: unique('claim') } as const;
    await driver.enqueue(queue, [record('now-1'), record('now-2')], open);
    await driver.enqueue(queue, [record('later', { delayMs: 45_000 })], open);
    let result: Awaited<ReturnType<PostgresDriver['claim']>> | undefined;
    const trips = await statementsDuring(driver, async () => {
      result = await driver.claim(queue, { max: 10, leaseMs: 20_000, orderByKey: false });
    });
    assert.equal(trips, 1);
    const { deliveries, nextDueAt } = result!;
    assert.deepEqual(
      deliveries.map((d) => d.id),
      ['now-1', 'now-2'],
    );
    // The claimed pair falls due again when its lease runs out, before the delayed one.
    const { rows } = await admin.query(`SELECT ${s}.now_ms() AS now`);
    const leftMs = nextDueAt! - Number(rows[0].now);
    assert.ok(leftMs > 15_000 && leftMs <= 20_000, `next due in ${leftMs} ms`);

    let empty: Awaited<ReturnType<PostgresDriver['claim']>> | undefined;
    const emptyTrips = await statementsDuring(driver, async () => {
      empty = await driver.claim(queue, { max: 10, leaseMs: 20_000, orderByKey: false });
    });
    assert.equal(emptyTrips, 1, 'a claim that finds nothing says when more comes due in it too');
    assert.deepEqual(empty!.deliveries, []);
    assert.equal(empty!.nextDueAt, nextDueAt, 'nothing due: the earliest lease expiry');

    await driver.ack(
      queue,
      deliveries.map((d) => d.receipt),
    );
    const delayed = await driver.claim(queue, { max: 10, leaseMs: 20_000, orderByKey: false });
    const { rows: due } = await admin.query(
      `SELECT due_at FROM ${s}.messages WHERE source = $1 AND id = 'later'`,
      [`q:${queue.queue}`],
    );
    assert.equal(delayed.nextDueAt, Number(due[0].due_at), 'then the delayed message');

    const none = await driver.claim(
      { kind: 'queue', queue: unique('none') },
      { max: 10, leaseMs: 20_000, orderByKey: false },
    );
    assert.deepEqual(none, { deliveries: [], nextDueAt: undefined }, 'an empty queue');
  });

  it('gives every claim a fresh token, so a stale receipt acks nothing after redelivery', async () => {
    const queue = { kind: 'queue', queue: unique('token') } as const;
    await driver.enqueue(queue, [record('t')], open);
    const first = await driver.claim(queue, { max: 1, leaseMs: 1, orderByKey: false });
    await new Promise((r) => setTimeout(r, 20));
    const second = await driver.claim(queue, { max: 1, leaseMs: 30_000, orderByKey: false });
    assert.equal(second.deliveries[0]!.attempt, 2);
    assert.notEqual(first.deliveries[0]!.receipt, second.deliveries[0]!.receipt);
    await driver.ack(queue, [first.deliveries[0]!.receipt]);
    assert.equal((await driver.stats(queue)).inFlight, 1);
  });

  it('skips malformed receipts and still acks the good ones beside them', async () => {
    const queue = { kind: 'queue', queue: unique('receipts') } as const;
    await driver.enqueue(queue, [record('r1'), record('r2')], open);
    const { deliveries } = await driver.claim(queue, {
      max: 2,
      leaseMs: 30_000,
      orderByKey: false,
    });
    const [good, other] = deliveries.map((d) => d.receipt);
    await driver.ack(queue, [
      '',
      ':',
      '12:',
      ':12',
      'x:1',
      '1:x',
      '1.5:2',
      '9223372036854775808:1',
      `1:${'9'.repeat(30)}`,
      '9223372036854775807:1',
      good!,
    ]);
    const stats = await driver.stats(queue);
    assert.equal(stats.inFlight, 1, 'the good receipt was acked, the bad ones ignored');
    await driver.ack(queue, [other!]);
    assert.equal((await driver.stats(queue)).inFlight, 0);
  });

  it('leaves no server-side prepared statement whose generic plan would outlive the queue size', async () => {
    // A named statement switches to a generic plan after five runs, fixed while the table
    // was small: the length bound and the claim then scan a whole queue once it has grown.
    const single = await openPostgresDriver(url, { schema, poolSize: 1 });
    try {
      const queue = { kind: 'queue', queue: unique('unnamed') } as const;
      for (let i = 0; i < 8; i++) {
        await single.enqueue(queue, [record(`u${i}`), record(`v${i}`, { dedupe: true })], open);
        const { deliveries } = await single.claim(queue, {
          max: 2,
          leaseMs: 30_000,
          orderByKey: i % 2 === 0,
        });
        const receipts = deliveries.map((d) => d.receipt);
        await single.extendLease(queue, receipts, 30_000);
        await single.ack(queue, receipts);
      }
      const { rows } = await single.pool.query(
        'SELECT count(*)::int AS n FROM pg_prepared_statements',
      );
      assert.equal(rows[0].n, 0);
      assert.equal((await single.stats(queue)).depth, 0, 'every message went round');
    } finally {
      await single.close();
    }
  });

  it('answers each publish of a batched statement its own outcome, counted as such', async () => {
    const broker = await connect({
      driver: await openPostgresDriver(url, { schema, poolSize: 2 }),
    });
    try {
      const name = unique('counted');
      const queue = broker.queue<number>(name);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => queue.publish(i, { id: i < 2 ? 'same' : `c${i}` })),
      );
      assert.equal(results.filter((r) => r.duplicate).length, 1);
      const labels = { driver: 'postgres', destination: name };
      assert.equal(await metricValue('sluice_messaging_published_total', labels), 19);
      assert.equal(await metricValue('sluice_messaging_publish_duplicates_total', labels), 1);

      const fullName = unique('counted-full');
      const full = broker.queue<number>(fullName, { maxLength: 1, overflow: 'reject' });
      await full.publish(0);
      await assert.rejects(full.publishBatch([{ payload: 1 }, { payload: 2 }]), (e) =>
        isSluiceError(e, 'SLUICE_QUEUE_FULL'),
      );
      const fullLabels = { driver: 'postgres', destination: fullName };
      assert.equal(await metricValue('sluice_messaging_publish_failures_total', fullLabels), 2);
      assert.equal(await metricValue('sluice_messaging_published_total', fullLabels), 1);
    } finally {
      await broker.close();
    }
  });

  it('rejects a publish to a closed driver with SLUICE_CLOSED', async () => {
    const closed = await openPostgresDriver(url, { schema, poolSize: 1 });
    await closed.close();
    await assert.rejects(closed.enqueue({ kind: 'queue', queue: 'q' }, [record('x')], open), (e) =>
      isSluiceError(e, 'SLUICE_CLOSED'),
    );
  });
});
