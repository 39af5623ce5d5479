import Database from 'better-sqlite3';
import { WalWatcher } from '../../messaging/drivers/sqlite/wal-watcher.js';
import type { MeshEndpoint } from '../contract.js';
import { ChangeListeners, decodeEndpoint, encodeEndpoint, type RegistryStore } from './store.js';

const FALLBACK_POLL_MS = 1000;
const KEPT_CHANGES = 1000;

/**
 * The registry in one SQLite file (WAL), for control planes on one host. Each write appends
 * the service's name to a change log; other processes learn of it from an inotify watch on
 * the WAL (a slow poll is the fallback) and read the log past the last row they saw.
 */
export class SqliteRegistryStore implements RegistryStore {
  readonly #db: Database.Database;
  readonly #listeners = new ChangeListeners();
  readonly #watcher: WalWatcher;
  readonly #poll: NodeJS.Timeout;
  readonly #s: Record<string, Database.Statement>;
  #seen: number;
  #closed = false;

  constructor(path: string, prefix = 'sluice') {
    this.#db = new Database(path);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('busy_timeout = 5000');
    const t = `${prefix}_mesh`;
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS ${t}_endpoints (service TEXT NOT NULL, instance TEXT NOT NULL,
        endpoint TEXT NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY (service, instance));
      CREATE TABLE IF NOT EXISTS ${t}_policies (service TEXT PRIMARY KEY, policy TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS ${t}_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT,
        service TEXT NOT NULL);`);
    this.#s = {
      put: this.#db.prepare(
        `INSERT INTO ${t}_endpoints VALUES (?, ?, ?, ?) ON CONFLICT (service, instance)
         DO UPDATE SET endpoint = excluded.endpoint, expires_at = excluded.expires_at`,
      ),
      touch: this.#db.prepare(
        `UPDATE ${t}_endpoints SET expires_at = ? WHERE service = ? AND instance = ? AND expires_at > ?`,
      ),
      remove: this.#db.prepare(`DELETE FROM ${t}_endpoints WHERE service = ? AND instance = ?`),
      list: this.#db.prepare(
        `SELECT endpoint FROM ${t}_endpoints WHERE service = ? AND expires_at > ? ORDER BY instance`,
      ),
      expired: this.#db.prepare(
        `DELETE FROM ${t}_endpoints WHERE expires_at <= ? RETURNING service`,
      ),
      putPolicy: this.#db.prepare(
        `INSERT INTO ${t}_policies VALUES (?, ?) ON CONFLICT (service) DO UPDATE SET policy = excluded.policy`,
      ),
      deletePolicy: this.#db.prepare(`DELETE FROM ${t}_policies WHERE service = ?`),
      getPolicy: this.#db.prepare(`SELECT policy FROM ${t}_policies WHERE service = ?`),
      changed: this.#db.prepare(`INSERT INTO ${t}_changes (service) VALUES (?)`),
      since: this.#db.prepare(`SELECT seq, service FROM ${t}_changes WHERE seq > ? ORDER BY seq`),
      last: this.#db.prepare(`SELECT coalesce(max(seq), 0) AS seq FROM ${t}_changes`),
      prune: this.#db.prepare(`DELETE FROM ${t}_changes WHERE seq <= ?`),
    };
    this.#seen = (this.#s.last!.get() as { seq: number }).seq;
    this.#watcher = new WalWatcher(path, () => this.#readChanges());
    this.#watcher.start();
    this.#poll = setInterval(() => this.#readChanges(), FALLBACK_POLL_MS).unref();
  }

  async put(endpoint: MeshEndpoint, expiresAt: number): Promise<void> {
    this.#write(endpoint.service, () =>
      this.#s.put!.run(endpoint.service, endpoint.instance, encodeEndpoint(endpoint), expiresAt),
    );
  }

  async touch(service: string, instance: string, expiresAt: number, now: number) {
    return this.#s.touch!.run(expiresAt, service, instance, now).changes === 1;
  }

  async remove(service: string, instance: string): Promise<void> {
    this.#write(service, () => this.#s.remove!.run(service, instance));
  }

  async list(service: string, now: number): Promise<MeshEndpoint[]> {
    const rows = this.#s.list!.all(service, now) as { endpoint: string }[];
    return rows.map((row) => decodeEndpoint(row.endpoint));
  }

  async sweep(now: number): Promise<void> {
    const services = this.#db.transaction(() => {
      const gone = new Set(
        (this.#s.expired!.all(now) as { service: string }[]).map((r) => r.service),
      );
      for (const service of gone) this.#s.changed!.run(service);
      return gone;
    })();
    this.#prune();
    if (services.size > 0) this.#readChanges();
  }

  async putPolicy(service: string, policy: string | undefined): Promise<void> {
    this.#write(service, () =>
      policy === undefined
        ? this.#s.deletePolicy!.run(service)
        : this.#s.putPolicy!.run(service, policy),
    );
  }

  async getPolicy(service: string): Promise<string | undefined> {
    return (this.#s.getPolicy!.get(service) as { policy: string } | undefined)?.policy;
  }

  onChange(listener: (service: string) => void): () => void {
    return this.#listeners.add(listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#poll);
    this.#watcher.close();
    this.#listeners.clear();
    this.#db.close();
  }

  #write(service: string, run: () => unknown): void {
    this.#db.transaction(() => {
      run();
      this.#s.changed!.run(service);
    })();
    this.#readChanges();
  }

  #readChanges(): void {
    if (this.#closed) return;
    const rows = this.#s.since!.all(this.#seen) as { seq: number; service: string }[];
    if (rows.length === 0) return;
    this.#seen = rows[rows.length - 1]!.seq;
    for (const service of new Set(rows.map((r) => r.service))) this.#listeners.emit(service);
  }

  #prune(): void {
    this.#s.prune!.run(this.#seen - KEPT_CHANGES);
  }
}
