import type { Database } from 'better-sqlite3';

/**
 * One table of live messages for every queue and topic group (`address` is `q:<queue>` or
 * `s:<topic>/<group>`). A leased message's `available_at` is its lease expiry, so one index,
 * (address, available_at, seq), finds both ready messages and expired leases; acked rows
 * are deleted, and `sluice_counts` keeps per-address totals so bounds cost no COUNT(*).
 */
const ddl = `
CREATE TABLE IF NOT EXISTS sluice_messages (
  seq INTEGER PRIMARY KEY,
  address TEXT NOT NULL,
  id TEXT NOT NULL,
  key TEXT,
  headers TEXT,
  body TEXT NOT NULL,
  published_at INTEGER NOT NULL,
  available_at INTEGER NOT NULL,
  attempt INTEGER NOT NULL DEFAULT 0,
  lease INTEGER NOT NULL DEFAULT 0,
  last_error TEXT
);
CREATE INDEX IF NOT EXISTS sluice_messages_ready ON sluice_messages (address, available_at, seq);
CREATE INDEX IF NOT EXISTS sluice_messages_key ON sluice_messages (address, key, seq)
  WHERE key IS NOT NULL;
CREATE TABLE IF NOT EXISTS sluice_counts (
  address TEXT PRIMARY KEY,
  stored INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sluice_dead (
  seq INTEGER PRIMARY KEY,
  address TEXT NOT NULL,
  id TEXT NOT NULL,
  key TEXT,
  headers TEXT,
  body TEXT NOT NULL,
  published_at INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  failed_at INTEGER NOT NULL,
  error TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sluice_dead_address ON sluice_dead (address, seq);
CREATE TABLE IF NOT EXISTS sluice_dedupe (
  target TEXT NOT NULL,
  id TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (target, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sluice_dedupe_expiry ON sluice_dedupe (expires_at);
CREATE TABLE IF NOT EXISTS sluice_groups (
  topic TEXT NOT NULL,
  grp TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (topic, grp)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sluice_streams (
  stream TEXT PRIMARY KEY,
  next_pos INTEGER NOT NULL,
  bytes INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sluice_stream_entries (
  stream TEXT NOT NULL,
  pos INTEGER NOT NULL,
  id TEXT NOT NULL,
  key TEXT,
  headers TEXT,
  body TEXT NOT NULL,
  published_at INTEGER NOT NULL,
  size INTEGER NOT NULL,
  PRIMARY KEY (stream, pos)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sluice_stream_time ON sluice_stream_entries (stream, published_at);
CREATE TABLE IF NOT EXISTS sluice_offsets (
  stream TEXT NOT NULL,
  grp TEXT NOT NULL,
  next_pos INTEGER NOT NULL,
  PRIMARY KEY (stream, grp)
) WITHOUT ROWID;
`;

export interface PragmaOptions {
  synchronous: 'full' | 'normal';
  busyTimeoutMs: number;
}

export function prepareDatabase(db: Database, options: PragmaOptions): void {
  db.pragma(`busy_timeout = ${Math.floor(options.busyTimeoutMs)}`);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  // Several processes may open a new file at once: create the schema under the write lock.
  db.transaction(() => db.exec(ddl)).immediate();
}
