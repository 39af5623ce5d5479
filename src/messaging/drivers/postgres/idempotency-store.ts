import type { Pool, PoolClient } from 'pg';
import { InvalidArgumentError } from '../../../core/errors.js';
import { DuplicateMessageError } from '../../errors.js';
import type { IdempotencyStore } from '../../idempotency/idempotent.js';
import { inTransaction } from './context.js';
import { qualifiedName } from './names.js';

export interface PostgresIdempotencyStoreOptions {
  /** Table of processed keys, optionally schema-qualified. Default `sluice_idempotency`. */
  table?: string;
  /** How long a key is remembered. Default 7 days. */
  ttl?: number;
}

const nowMs = `floor(extract(epoch FROM now()) * 1000)::bigint`;
const purgeEveryMs = 60_000;

/**
 * Keeps processed keys in the application's own PostgreSQL database. `transaction()` runs
 * the handler's writes on one pooled connection inside BEGIN/COMMIT together with the key's
 * row, so both commit or neither. A second delivery of the same key running at the same
 * time waits on that row's lock and then finds the key taken.
 */
export async function postgresIdempotencyStore(
  pool: Pool,
  options: PostgresIdempotencyStoreOptions = {},
): Promise<IdempotencyStore<PoolClient>> {
  const table = qualifiedName('table', options.table ?? 'sluice_idempotency');
  const ttl = options.ttl ?? 7 * 86_400_000;
  if (!Number.isSafeInteger(ttl) || ttl < 1) {
    throw new InvalidArgumentError(`ttl must be a positive integer of ms, got ${ttl}`);
  }
  await pool.query(`CREATE TABLE IF NOT EXISTS ${table} (
    key text PRIMARY KEY, expires_at bigint NOT NULL)`);
  let lastPurge = 0;
  return {
    async has(key) {
      const { rows } = await pool.query(
        `SELECT 1 FROM ${table} WHERE key = $1 AND expires_at > ${nowMs}`,
        [key],
      );
      return rows.length > 0;
    },
    transaction<R>(key: string, work: (tx: PoolClient) => R): Promise<Awaited<R>> {
      return inTransaction(pool, async (client): Promise<Awaited<R>> => {
        const recorded = await client.query(
          `INSERT INTO ${table} AS t (key, expires_at) VALUES ($1, ${nowMs} + $2)
           ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at
             WHERE t.expires_at <= ${nowMs}`,
          [key, ttl],
        );
        if (recorded.rowCount === 0) throw new DuplicateMessageError(key);
        const result = await work(client);
        if (Date.now() - lastPurge > purgeEveryMs) {
          lastPurge = Date.now();
          await client.query(
            `DELETE FROM ${table} WHERE key = ANY(ARRAY(
               SELECT key FROM ${table} WHERE expires_at <= ${nowMs} LIMIT 500))`,
          );
        }
        return result;
      });
    },
  };
}
