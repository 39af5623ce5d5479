import type { Database } from 'better-sqlite3';
import { InvalidArgumentError } from '../../core/errors.js';
import { DuplicateMessageError } from '../errors.js';
import type { IdempotencyStore } from './idempotent.js';

export interface SqliteIdempotencyStoreOptions {
  /** Default `sluice_idempotency`. */
  table?: string;
  /** How long a key is remembered. Default 7 days. */
  ttl?: number;
}

/**
 * Keeps processed keys in the application's own SQLite database, so the record commits in
 * the same transaction as the handler's writes. better-sqlite3 transactions are
 * synchronous: do the handler's async work (calls to other services) before
 * `transaction()`, and only the database writes inside it.
 */
export function sqliteIdempotencyStore(
  db: Database,
  options: SqliteIdempotencyStoreOptions = {},
): IdempotencyStore<Database> {
  const table = options.table ?? 'sluice_idempotency';
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(table)) {
    throw new InvalidArgumentError(
      `table must be a plain SQL identifier, got ${JSON.stringify(table)}`,
    );
  }
  const ttl = options.ttl ?? 7 * 86_400_000;
  db.exec(`CREATE TABLE IF NOT EXISTS ${table} (
    key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) WITHOUT ROWID`);
  const has = db.prepare(`SELECT 1 FROM ${table} WHERE key = ? AND expires_at > ?`).pluck();
  const record = db.prepare(`INSERT INTO ${table} (key, expires_at) VALUES (?, ?)
    ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE expires_at <= ?`);
  const purge = db.prepare(`DELETE FROM ${table} WHERE key IN (
    SELECT key FROM ${table} WHERE expires_at <= ? LIMIT 500)`);
  let lastPurge = 0;
  return {
    async has(key) {
      return has.get(key, Date.now()) !== undefined;
    },
    async transaction<R>(key: string, work: (tx: Database) => R): Promise<Awaited<R>> {
      const run = db.transaction(() => {
        const now = Date.now();
        if (record.run(key, now + ttl, now).changes === 0) throw new DuplicateMessageError(key);
        const result = work(db);
        if (typeof (result as { then?: unknown } | null)?.then === 'function') {
          throw new InvalidArgumentError(
            'sqlite transactions are synchronous: do async work before transaction(), only writes inside',
          );
        }
        if (now - lastPurge > 60_000) {
          lastPurge = now;
          purge.run(now);
        }
        return result;
      });
      return run.immediate() as Awaited<R>;
    },
  };
}
