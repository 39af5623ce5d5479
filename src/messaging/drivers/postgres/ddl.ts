import type { Pool } from 'pg';
import { inTransaction } from './context.js';
import { enqueueFunctions } from './enqueue-fast.js';
import { claimFunctions, hotFunctions } from './hot-functions.js';

/**
 * Version 1: the tables, created idempotently. Times are integer milliseconds of the server's clock
 * (`now_ms()`), so every process agrees on leases and delays whatever its own clock says.
 * `now_ms()` is STABLE (transaction time), which lets the planner use it in index scans.
 */
function statements(s: string): string[] {
  return [
    `CREATE SCHEMA IF NOT EXISTS ${s}`,
    `CREATE OR REPLACE FUNCTION ${s}.now_ms() RETURNS bigint LANGUAGE sql STABLE
       AS $$ SELECT floor(extract(epoch FROM now()) * 1000)::bigint $$`,
    `CREATE TABLE IF NOT EXISTS ${s}.messages (
       seq bigint GENERATED ALWAYS AS IDENTITY,
       source text NOT NULL,
       id text NOT NULL,
       key text,
       headers text NOT NULL,
       body text NOT NULL,
       published_at bigint NOT NULL,
       due_at bigint NOT NULL,
       lease_until bigint,
       lease_token bigint,
       attempt integer NOT NULL DEFAULT 0,
       last_error text
     ) WITH (fillfactor = 80)`,
    // The claim query: source = $1 AND due_at <= now ORDER BY due_at, seq.
    `CREATE INDEX IF NOT EXISTS messages_claim ON ${s}.messages (source, due_at, seq)`,
    // Acks, per-source length bounds and drop-oldest.
    `CREATE INDEX IF NOT EXISTS messages_seq ON ${s}.messages (source, seq)`,
    // Per-key ordering: the oldest unfinished message of a key.
    `CREATE INDEX IF NOT EXISTS messages_key ON ${s}.messages (source, key, seq) WHERE key IS NOT NULL`,
    `CREATE SEQUENCE IF NOT EXISTS ${s}.lease_tokens`,
    `CREATE TABLE IF NOT EXISTS ${s}.dedupe (
       target text NOT NULL,
       id text NOT NULL,
       expires_at bigint NOT NULL,
       PRIMARY KEY (target, id)
     )`,
    `CREATE INDEX IF NOT EXISTS dedupe_expiry ON ${s}.dedupe (expires_at)`,
    `CREATE TABLE IF NOT EXISTS ${s}.groups (
       topic text NOT NULL,
       grp text NOT NULL,
       created_at bigint NOT NULL,
       PRIMARY KEY (topic, grp)
     )`,
    `CREATE TABLE IF NOT EXISTS ${s}.dead_letters (
       dseq bigint GENERATED ALWAYS AS IDENTITY,
       source text NOT NULL,
       id text NOT NULL,
       key text,
       headers text NOT NULL,
       body text NOT NULL,
       attempt integer NOT NULL,
       published_at bigint NOT NULL,
       failed_at bigint NOT NULL,
       error text NOT NULL
     )`,
    `CREATE INDEX IF NOT EXISTS dead_letters_source ON ${s}.dead_letters (source, dseq)`,
    `CREATE TABLE IF NOT EXISTS ${s}.streams (
       name text PRIMARY KEY,
       next_offset bigint NOT NULL,
       bytes bigint NOT NULL DEFAULT 0
     )`,
    `CREATE TABLE IF NOT EXISTS ${s}.stream_entries (
       stream text NOT NULL,
       "offset" bigint NOT NULL,
       id text NOT NULL,
       key text,
       headers text NOT NULL,
       body text NOT NULL,
       published_at bigint NOT NULL,
       bytes integer NOT NULL,
       PRIMARY KEY (stream, "offset")
     )`,
    `CREATE INDEX IF NOT EXISTS stream_entries_time ON ${s}.stream_entries (stream, published_at)`,
    `CREATE TABLE IF NOT EXISTS ${s}.stream_offsets (
       stream text NOT NULL,
       grp text NOT NULL,
       next_offset bigint NOT NULL,
       PRIMARY KEY (stream, grp)
     )`,
  ];
}

/**
 * Each version's statements, applied in order to a schema below it: a new schema gets them
 * all, an existing one only the versions it lacks (versions 2 to 4 add functions and take
 * no lock on a table, so instances of an older version keep serving while a newer opens).
 */
const versions: readonly ((s: string) => string[])[] = [
  statements,
  hotFunctions,
  enqueueFunctions,
  claimFunctions,
];
const schemaVersion = versions.length;

/**
 * Creates or upgrades the schema; safe when several processes open at once (they take
 * turns on an advisory lock and re-read the version). Once a schema is at the current
 * version, opening runs no DDL at all: CREATE INDEX takes a SHARE lock on its table even
 * when the index exists, which would stall (and can deadlock with) the traffic of instances
 * already running. A schema newer than this code is left as it is: versions only add.
 */
export async function ensureSchema(pool: Pool, schema: string): Promise<void> {
  const s = quote(schema);
  if ((await currentVersion(pool, schema)) >= schemaVersion) return;
  await inTransaction(pool, async (client) => {
    // Concurrent CREATE ... IF NOT EXISTS can still collide in the catalog: serialise them.
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`sluice-ddl:${schema}`]);
    const from = await currentVersion(client, schema);
    if (from >= schemaVersion) return;
    for (const version of versions.slice(from)) {
      for (const sql of version(s)) await client.query(sql);
    }
    await client.query(`CREATE TABLE IF NOT EXISTS ${s}.schema_version (version integer NOT NULL)`);
    await client.query(`DELETE FROM ${s}.schema_version`);
    await client.query(`INSERT INTO ${s}.schema_version (version) VALUES ($1)`, [schemaVersion]);
  });
}

async function currentVersion(db: Pick<Pool, 'query'>, schema: string): Promise<number> {
  const table = `${quote(schema)}.schema_version`;
  const { rows } = await db.query<{ present: boolean }>(
    'SELECT to_regclass($1) IS NOT NULL AS present',
    [table],
  );
  if (!rows[0]?.present) return 0;
  const version = await db.query<{ version: number }>(
    `SELECT max(version) AS version FROM ${table}`,
  );
  return version.rows[0]?.version ?? 0;
}

export function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}
