import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { openPostgresDriver } from '../../../src/messaging/drivers/postgres/driver.js';
import { enqueueFunctions } from '../../../src/messaging/drivers/postgres/enqueue-fast.js';
import { hotFunctions } from '../../../src/messaging/drivers/postgres/hot-functions.js';
import { claimSql } from '../../../src/messaging/drivers/postgres/leases.js';
import { connect } from '../../../src/messaging/index.js';
import { waitFor } from '../../conformance/helpers.js';
import { requireEngine } from '../../support/engines.js';

await requireEngine('postgres');

const url = process.env.SLUICE_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const base = `sluice_mig_${process.pid}_${Date.now().toString(36)}`;

/** The queue tables as schema version 1 created them (the released layout, verbatim). */
function versionOneDdl(s: string): string[] {
  return [
    `CREATE SCHEMA ${s}`,
    `CREATE OR REPLACE FUNCTION ${s}.now_ms() RETURNS bigint LANGUAGE sql STABLE
       AS $$ SELECT floor(extract(epoch FROM now()) * 1000)::bigint $$`,
    `CREATE TABLE ${s}.messages (
       seq bigint GENERATED ALWAYS AS IDENTITY, source text NOT NULL, id text NOT NULL,
       key text, headers text NOT NULL, body text NOT NULL, published_at bigint NOT NULL,
       due_at bigint NOT NULL, lease_until bigint, lease_token bigint,
       attempt integer NOT NULL DEFAULT 0, last_error text) WITH (fillfactor = 80)`,
    `CREATE INDEX messages_claim ON ${s}.messages (source, due_at, seq)`,
    `CREATE INDEX messages_seq ON ${s}.messages (source, seq)`,
    `CREATE INDEX messages_key ON ${s}.messages (source, key, seq) WHERE key IS NOT NULL`,
    `CREATE SEQUENCE ${s}.lease_tokens`,
    `CREATE TABLE ${s}.dedupe (target text NOT NULL, id text NOT NULL,
       expires_at bigint NOT NULL, PRIMARY KEY (target, id))`,
    `CREATE INDEX dedupe_expiry ON ${s}.dedupe (expires_at)`,
    `CREATE TABLE ${s}.groups (topic text NOT NULL, grp text NOT NULL,
       created_at bigint NOT NULL, PRIMARY KEY (topic, grp))`,
    `CREATE TABLE ${s}.dead_letters (
       dseq bigint GENERATED ALWAYS AS IDENTITY, source text NOT NULL, id text NOT NULL,
       key text, headers text NOT NULL, body text NOT NULL, attempt integer NOT NULL,
       published_at bigint NOT NULL, failed_at bigint NOT NULL, error text NOT NULL)`,
    `CREATE INDEX dead_letters_source ON ${s}.dead_letters (source, dseq)`,
    `CREATE TABLE ${s}.streams (name text PRIMARY KEY, next_offset bigint NOT NULL,
       bytes bigint NOT NULL DEFAULT 0)`,
    `CREATE TABLE ${s}.stream_entries (
       stream text NOT NULL, "offset" bigint NOT NULL, id text NOT NULL, key text,
       headers text NOT NULL, body text NOT NULL, published_at bigint NOT NULL,
       bytes integer NOT NULL, PRIMARY KEY (stream, "offset"))`,
    `CREATE INDEX stream_entries_time ON ${s}.stream_entries (stream, published_at)`,
    `CREATE TABLE ${s}.stream_offsets (stream text NOT NULL, grp text NOT NULL,
       next_offset bigint NOT NULL, PRIMARY KEY (stream, grp))`,
    `CREATE TABLE ${s}.schema_version (version integer NOT NULL)`,
    `INSERT INTO ${s}.schema_version (version) VALUES (1)`,
  ];
}

/**
 * A version-1 schema holding what a running system leaves behind: plain and keyed
 * messages, one whose lease ran out (a consumer died), one held by a live lease of a
 * version-1 consumer, and one a version-1 producer delayed (both by `laterMs`).
 */
async function oldSchemaWithMessages(
  admin: pg.Client,
  schema: string,
  laterMs: number,
): Promise<void> {
  const s = `"${schema}"`;
  for (const sql of versionOneDdl(s)) await admin.query(sql);
  await admin.query(
    `INSERT INTO ${s}.messages (source, id, key, headers, body, published_at, due_at,
       lease_until, lease_token, attempt)
     SELECT 'q:orders', 'm' || i, CASE WHEN i % 4 = 0 THEN 'k' || (i % 3) END, '{}',
            '"m' || i || '"', ${s}.now_ms(), ${s}.now_ms() + CASE WHEN i = 7 THEN $1::bigint ELSE 0 END,
            CASE WHEN i IN (5, 9) THEN ${s}.now_ms() + CASE WHEN i = 5 THEN -1000 ELSE $1::bigint END END,
            CASE WHEN i IN (5, 9) THEN nextval('${s}.lease_tokens') END,
            CASE WHEN i IN (5, 9) THEN 1 ELSE 0 END
     FROM generate_series(1, 40) AS i`,
    [laterMs],
  );
  // The live lease holds its row until the lease runs out, as version 1 wrote it.
  await admin.query(`UPDATE ${s}.messages SET due_at = lease_until WHERE lease_token IS NOT NULL`);
}

async function versionOf(admin: pg.Client, schema: string): Promise<number[]> {
  const { rows } = await admin.query(`SELECT version FROM "${schema}".schema_version`);
  return rows.map((r) => r.version as number);
}

describe('postgres driver schema migration', () => {
  let admin: pg.Client;
  const schemas: string[] = [];

  before(async () => {
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
  });

  after(async () => {
    for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  });

  /**
   * A current schema whose statistics were taken while it was empty, then 20,000 due rows
   * of `q:bulk`: the stale statistics of every busy queue.
   */
  async function staleBulkSchema(suffix: string): Promise<{ schema: string; s: string }> {
    const schema = `${base}_${suffix}`;
    schemas.push(schema);
    const driver = await openPostgresDriver(url, { schema, poolSize: 1 });
    await driver.close();
    const s = `"${schema}"`;
    await admin.query(`ANALYZE ${s}.messages`);
    await admin.query(
      `INSERT INTO ${s}.messages (source, id, key, headers, body, published_at, due_at)
       SELECT 'q:bulk', 'm' || i, NULL, '{}', '1', 0, i FROM generate_series(1, 20000) AS i`,
    );
    return { schema, s };
  }

  it('upgrades a version-1 schema on open and delivers every message it held', async () => {
    const schema = `${base}_a`;
    schemas.push(schema);
    await oldSchemaWithMessages(admin, schema, 300);
    const broker = await connect({ driver: await openPostgresDriver(url, { schema }) });
    try {
      assert.deepEqual(await versionOf(admin, schema), [4]);
      const seen = new Map<string, number>();
      const queue = broker.queue<string>('orders');
      queue.consume(
        (m) => {
          seen.set(m.payload, (seen.get(m.payload) ?? 0) + 1);
        },
        { ordering: 'key', leaseTimeout: 5_000 },
      );
      await waitFor('all 40 messages of the old schema', () => seen.size === 40);
      const expected = Array.from({ length: 40 }, (_, i) => `m${i + 1}`).sort();
      assert.deepEqual([...seen.keys()].sort(), expected);
      await waitFor('every row acked and deleted', async () => {
        const { rows } = await admin.query(`SELECT count(*)::int AS n FROM "${schema}".messages`);
        return rows[0].n === 0;
      });
    } finally {
      await broker.close();
    }
  });

  it('upgrades once when several processes open a version-1 schema at once', async () => {
    const schema = `${base}_b`;
    schemas.push(schema);
    await oldSchemaWithMessages(admin, schema, 3_600_000);
    const drivers = await Promise.all(
      [1, 2, 3, 4].map(() => openPostgresDriver(url, { schema, poolSize: 1 })),
    );
    try {
      assert.deepEqual(await versionOf(admin, schema), [4]);
      const source = { kind: 'queue', queue: 'orders' } as const;
      const claimed = await drivers[0]!.claim(source, {
        max: 100,
        leaseMs: 30_000,
        orderByKey: false,
      });
      // 40 rows, less the delayed one and the one under a live lease.
      assert.equal(claimed.deliveries.length, 38);
      await drivers[1]!.ack(
        source,
        claimed.deliveries.map((d) => d.receipt),
      );
      const { rows } = await admin.query(`SELECT id FROM "${schema}".messages ORDER BY id`);
      assert.deepEqual(
        rows.map((r) => r.id),
        ['m7', 'm9'],
      );
    } finally {
      await Promise.all(drivers.map((d) => d.close()));
    }
  });

  it('upgrades a version-2 schema and publishes through its enqueue functions', async () => {
    const schema = `${base}_d`;
    schemas.push(schema);
    const s = `"${schema}"`;
    await oldSchemaWithMessages(admin, schema, 3_600_000);
    for (const sql of hotFunctions(s)) await admin.query(sql);
    await admin.query(`UPDATE ${s}.schema_version SET version = 2`);
    const broker = await connect({ driver: await openPostgresDriver(url, { schema }) });
    try {
      assert.deepEqual(await versionOf(admin, schema), [4]);
      const { rows } = await admin.query(
        `SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = $1 AND p.proname LIKE 'enqueue%' ORDER BY 1`,
        [schema],
      );
      assert.deepEqual(
        rows.map((r) => r.proname),
        ['enqueue', 'enqueue_deduped'],
      );
      const queue = broker.queue<string>('fresh');
      await queue.publish('plain');
      assert.deepEqual(await queue.publish('mine', { id: 'p-1' }), { id: 'p-1', duplicate: false });
      assert.deepEqual(await queue.publish('again', { id: 'p-1' }), { id: 'p-1', duplicate: true });
      const seen: string[] = [];
      const consumer = queue.consume((m) => {
        seen.push(m.payload);
      });
      await waitFor('both stored messages', () => seen.length === 2);
      await consumer.stop();
      assert.deepEqual(seen, ['plain', 'mine']);
    } finally {
      await broker.close();
    }
  });

  it('upgrades a version-3 schema to 4 while a version-3 consumer keeps claiming beside it', async () => {
    const schema = `${base}_f`;
    schemas.push(schema);
    const s = `"${schema}"`;
    await oldSchemaWithMessages(admin, schema, 3_600_000);
    for (const sql of [...hotFunctions(s), ...enqueueFunctions(s)]) await admin.query(sql);
    await admin.query(`UPDATE ${s}.schema_version SET version = 3`);
    const driver = await openPostgresDriver(url, { schema, poolSize: 1 });
    try {
      assert.deepEqual(await versionOf(admin, schema), [4]);
      // A version-3 process claims through `claim`, which still answers its nine columns.
      const old = await admin.query(`SELECT * FROM ${s}.claim('q:orders', 5, 30000)`);
      assert.equal(old.rows.length, 5);
      assert.deepEqual(Object.keys(old.rows[0]), [
        'seq',
        'lease_token',
        'id',
        'key',
        'headers',
        'body',
        'attempt',
        'published_at',
        'next_due',
      ]);
      const source = { kind: 'queue', queue: 'orders' } as const;
      const claimed = await driver.claim(source, { max: 100, leaseMs: 30_000, orderByKey: true });
      const ids = claimed.deliveries.map((d) => d.id);
      const oldIds = old.rows.map((r) => r.id as string);
      assert.equal(
        ids.some((id) => oldIds.includes(id)),
        false,
        'what the old claim holds is not delivered again',
      );
      assert.ok(claimed.nextDueAt !== undefined, 'a short claim says when more falls due');
      await driver.ack(
        source,
        old.rows.map((r) => `${r.seq}:${r.lease_token}`),
      );
      await driver.ack(
        source,
        claimed.deliveries.map((d) => d.receipt),
      );
      const { rows } = await admin.query(`SELECT count(*)::int AS n FROM ${s}.messages`);
      assert.equal(rows[0].n, 40 - 5 - claimed.deliveries.length);
    } finally {
      await driver.close();
    }
  });

  it('bounds the queue length through messages_seq in a generic plan over stale statistics', async () => {
    const { s } = await staleBulkSchema('e');
    // auto_explain reports the plans of the statements inside the function as notices.
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const plans: string[] = [];
    client.on('notice', (notice) => plans.push(notice.message ?? ''));
    try {
      await client.query(`LOAD 'auto_explain'`);
      await client.query('SET auto_explain.log_min_duration = 0');
      await client.query('SET auto_explain.log_nested_statements = on');
      await client.query('SET plan_cache_mode = force_generic_plan');
      await client.query('SET client_min_messages = log');
      const { rows } = await client.query(
        `SELECT ${s}.enqueue('q:bulk', 1, 1000000, ARRAY['x'], NULL, NULL, '["1"]', NULL, 'c') AS ok`,
      );
      assert.equal(rows[0].ok, true);
      const full = await client.query(
        `SELECT ${s}.enqueue('q:bulk', 1, 20000, ARRAY['y'], NULL, NULL, '["1"]', NULL, 'c') AS ok`,
      );
      assert.equal(full.rows[0].ok, null, 'no room under the bound: nothing stored');
    } finally {
      await client.end();
    }
    const bound = plans.filter((p) => p.includes('min(m.seq)'));
    assert.equal(bound.length, 2);
    for (const plan of bound) {
      assert.match(plan, /Index Only Scan Backward using messages_seq/);
      assert.doesNotMatch(plan, /Seq Scan|Bitmap/);
    }
    const { rows } = await admin.query(
      `SELECT id FROM ${s}.messages WHERE source = 'q:bulk' AND id IN ('x', 'y')`,
    );
    assert.deepEqual(
      rows.map((r) => r.id),
      ['x'],
    );
  });

  it('claims through messages_claim in order even when the statistics say the table is tiny', async () => {
    const { schema, s } = await staleBulkSchema('c');
    const { rows } = await admin.query(
      `SELECT unnest(proconfig) AS setting FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
       WHERE n.nspname = $1 AND p.proname = 'claim'`,
      [schema],
    );
    const settings = rows.map((r) => r.setting as string).sort();
    assert.deepEqual(settings, ['enable_bitmapscan=off', 'enable_seqscan=off']);
    await admin.query('BEGIN');
    try {
      for (const setting of settings) {
        const [name, value] = setting.split('=');
        await admin.query(`SET LOCAL ${name} = ${value}`);
      }
      const explained = await admin.query(`EXPLAIN (FORMAT JSON) ${claimSql(s, false)}`, [
        'q:bulk',
        64,
        30_000,
      ]);
      const plan = JSON.stringify(explained.rows[0]['QUERY PLAN']);
      assert.match(plan, /"Index Name":"messages_claim"/);
      assert.doesNotMatch(plan, /Bitmap|"Sort"/);
    } finally {
      await admin.query('ROLLBACK');
    }
  });
});
