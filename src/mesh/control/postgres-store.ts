import type { Client, Pool } from 'pg';
import { InvalidArgumentError } from '../../core/errors.js';
import { loadOptional } from '../../core/optional.js';
import type { MeshEndpoint } from '../contract.js';
import { ChangeListeners, decodeEndpoint, encodeEndpoint, type RegistryStore } from './store.js';

type PgModule = typeof import('pg');
const RECONNECT_MS = [100, 500, 2000] as const;

/**
 * The registry in PostgreSQL, for control planes on several hosts: one row per instance,
 * one per policy, and NOTIFY on a channel with the service's name, heard by every control
 * plane through one dedicated LISTEN connection that reconnects on its own.
 */
export class PostgresRegistryStore implements RegistryStore {
  readonly #pg: PgModule;
  readonly #pool: Pool;
  readonly #url: string;
  readonly #t: string;
  readonly #channel: string;
  readonly #listeners = new ChangeListeners();
  #listener: Client | undefined;
  #closed = false;
  #attempt = 0;
  #retry: NodeJS.Timeout | undefined;

  private constructor(pg: PgModule, url: string, prefix: string) {
    this.#pg = pg;
    this.#url = url;
    this.#pool = new pg.Pool({ connectionString: url, max: 4 });
    this.#pool.on('error', () => {});
    this.#t = `${prefix}_mesh`;
    this.#channel = `${prefix}_mesh_changes`;
  }

  static async open(url: string, prefix = 'sluice'): Promise<PostgresRegistryStore> {
    if (!/^[a-z][a-z0-9_]{0,39}$/.test(prefix)) {
      throw new InvalidArgumentError(`"${prefix}" is not a table prefix: a-z, 0-9 and _`);
    }
    const module = await loadOptional('pg', 'a PostgreSQL mesh registry', () => import('pg'));
    const pg = (module as unknown as { default?: PgModule }).default ?? module;
    const store = new PostgresRegistryStore(pg, url, prefix);
    try {
      await store.#migrate();
      await store.#listen();
    } catch (error) {
      await store.close();
      throw error;
    }
    return store;
  }

  async #migrate(): Promise<void> {
    const t = this.#t;
    // Two control planes starting together may both create: the lock makes one wait.
    await this.#pool.query(`
      SELECT pg_advisory_xact_lock(hashtext('${t}'));
      CREATE TABLE IF NOT EXISTS ${t}_endpoints (service text NOT NULL, instance text NOT NULL,
        endpoint text NOT NULL, expires_at bigint NOT NULL, PRIMARY KEY (service, instance));
      CREATE INDEX IF NOT EXISTS ${t}_endpoints_expiry ON ${t}_endpoints (expires_at);
      CREATE TABLE IF NOT EXISTS ${t}_policies (service text PRIMARY KEY, policy text NOT NULL);`);
  }

  async #listen(): Promise<void> {
    const client = new this.#pg.Client({ connectionString: this.#url });
    const lost = () => {
      if (this.#listener !== client) return;
      this.#listener = undefined;
      client.end().catch(() => {});
      this.#reconnect();
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', (n) => {
      if (n.payload !== undefined) this.#listeners.emit(n.payload);
    });
    await client.connect();
    await client.query(`LISTEN ${this.#channel}`);
    this.#listener = client;
  }

  #reconnect(): void {
    if (this.#closed) return;
    const delay = RECONNECT_MS[Math.min(this.#attempt, RECONNECT_MS.length - 1)]!;
    this.#attempt++;
    this.#retry = setTimeout(() => {
      this.#listen().then(
        () => {
          this.#attempt = 0;
          // Notifications sent while it was away are lost: every watcher reads again.
          this.#listeners.emit('*');
        },
        () => this.#reconnect(),
      );
    }, delay);
  }

  async put(endpoint: MeshEndpoint, expiresAt: number): Promise<void> {
    await this.#pool.query(
      `WITH up AS (INSERT INTO ${this.#t}_endpoints VALUES ($1, $2, $3, $4)
         ON CONFLICT (service, instance) DO UPDATE
         SET endpoint = excluded.endpoint, expires_at = excluded.expires_at)
       SELECT pg_notify($5, $1)`,
      [endpoint.service, endpoint.instance, encodeEndpoint(endpoint), expiresAt, this.#channel],
    );
  }

  async touch(service: string, instance: string, expiresAt: number, now: number) {
    const result = await this.#pool.query(
      `UPDATE ${this.#t}_endpoints SET expires_at = $3
       WHERE service = $1 AND instance = $2 AND expires_at > $4`,
      [service, instance, expiresAt, now],
    );
    return result.rowCount === 1;
  }

  async remove(service: string, instance: string): Promise<void> {
    await this.#pool.query(
      `WITH gone AS (DELETE FROM ${this.#t}_endpoints WHERE service = $1 AND instance = $2)
       SELECT pg_notify($3, $1)`,
      [service, instance, this.#channel],
    );
  }

  async list(service: string, now: number): Promise<MeshEndpoint[]> {
    const result = await this.#pool.query<{ endpoint: string }>(
      `SELECT endpoint FROM ${this.#t}_endpoints WHERE service = $1 AND expires_at > $2
       ORDER BY instance`,
      [service, now],
    );
    return result.rows.map((row) => decodeEndpoint(row.endpoint));
  }

  async sweep(now: number): Promise<void> {
    await this.#pool.query(
      `WITH gone AS (DELETE FROM ${this.#t}_endpoints WHERE expires_at <= $1 RETURNING service)
       SELECT pg_notify($2, service) FROM (SELECT DISTINCT service FROM gone) AS s`,
      [now, this.#channel],
    );
  }

  async putPolicy(service: string, policy: string | undefined): Promise<void> {
    const write =
      policy === undefined
        ? `DELETE FROM ${this.#t}_policies WHERE service = $1 AND $2::text IS NULL`
        : `INSERT INTO ${this.#t}_policies VALUES ($1, $2)
           ON CONFLICT (service) DO UPDATE SET policy = excluded.policy`;
    await this.#pool.query(`WITH w AS (${write}) SELECT pg_notify($3, $1)`, [
      service,
      policy ?? null,
      this.#channel,
    ]);
  }

  async getPolicy(service: string): Promise<string | undefined> {
    const result = await this.#pool.query<{ policy: string }>(
      `SELECT policy FROM ${this.#t}_policies WHERE service = $1`,
      [service],
    );
    return result.rows[0]?.policy;
  }

  onChange(listener: (service: string) => void): () => void {
    return this.#listeners.add(listener);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#listeners.clear();
    const listener = this.#listener;
    this.#listener = undefined;
    await listener?.end().catch(() => {});
    await this.#pool.end().catch(() => {});
  }
}
