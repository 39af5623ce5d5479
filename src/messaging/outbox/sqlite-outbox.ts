import type { Database } from 'better-sqlite3';
import { InvalidArgumentError } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import type { Broker } from '../broker.js';
import { encodePayload } from '../codec.js';
import { decodeHeaders, encodeHeaders } from '../drivers/sqlite/rows.js';
import { WalWatcher } from '../drivers/sqlite/wal-watcher.js';
import { injectTrace } from '../tracing.js';
import { checkHeaders, checkName, knownKeys, nonNegative, optionalString } from '../validate.js';
import type { OutboxMessage, OutboxStore, PendingOutboxMessage } from './outbox.js';
import { type OutboxRelay, type OutboxRelayOptions, startOutboxRelay } from './relay.js';

export interface SqliteOutboxOptions {
  /** Default `sluice_outbox`. */
  table?: string;
  /** Default 1 MiB of JSON per payload. */
  maxPayloadBytes?: number;
}

interface Row {
  seq: number;
  kind: 'queue' | 'topic';
  name: string;
  id: string;
  key: string | null;
  headers: string | null;
  body: string;
  delay_ms: number;
}

const messageKeys = ['queue', 'topic', 'payload', 'id', 'key', 'headers', 'delay'];

/** An outbox in the application's SQLite database, written in the application's transactions. */
export class SqliteOutbox implements OutboxStore<Database> {
  readonly #db: Database;
  readonly #insert;
  readonly #pending;
  readonly #markSent;
  readonly #listeners = new Set<() => void>();
  readonly #maxBytes: number;
  #watcher: WalWatcher | undefined;

  constructor(db: Database, options: SqliteOutboxOptions = {}) {
    const table = options.table ?? 'sluice_outbox';
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(table)) {
      throw new InvalidArgumentError(
        `table must be a plain SQL identifier, got ${JSON.stringify(table)}`,
      );
    }
    this.#db = db;
    this.#maxBytes = options.maxPayloadBytes ?? 1024 * 1024;
    db.exec(`CREATE TABLE IF NOT EXISTS ${table} (
      seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL, id TEXT NOT NULL,
      key TEXT, headers TEXT, body TEXT NOT NULL, delay_ms INTEGER NOT NULL, added_at INTEGER NOT NULL)`);
    this.#insert = db.prepare(`INSERT INTO ${table}
      (kind, name, id, key, headers, body, delay_ms, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
    this.#pending = db.prepare(`SELECT * FROM ${table} ORDER BY seq LIMIT ?`);
    this.#markSent = db.prepare(
      `DELETE FROM ${table} WHERE seq IN (SELECT value FROM json_each(?))`,
    );
  }

  add<T>(tx: Database, message: OutboxMessage<T>): string {
    if (tx !== this.#db)
      throw new InvalidArgumentError('add() takes the database this outbox was made on');
    if (!tx.inTransaction) {
      throw new InvalidArgumentError(
        'add() must run inside the transaction that writes the business data',
      );
    }
    knownKeys('outbox message field', message, messageKeys);
    const topic = 'topic' in message ? message.topic : undefined;
    const queue = 'queue' in message ? message.queue : undefined;
    if ((topic === undefined) === (queue === undefined)) {
      throw new InvalidArgumentError('an outbox message names exactly one of queue or topic');
    }
    const kind = queue === undefined ? 'topic' : 'queue';
    const name = checkName(kind, queue ?? topic);
    const id = optionalString('id', message.id, 256) ?? newId();
    const headers = checkHeaders(message.headers);
    if (headers.traceparent === undefined) injectTrace(headers);
    const body = encodePayload(message.payload, undefined, this.#maxBytes);
    const delay = nonNegative('delay', message.delay, 0);
    this.#insert.run(
      kind,
      name,
      id,
      optionalString('key', message.key) ?? null,
      encodeHeaders(headers),
      body,
      delay,
      Date.now(),
    );
    // The relay looks after this turn of the event loop, by when the transaction has ended.
    for (const listener of this.#listeners) listener();
    return id;
  }

  async pending(limit: number): Promise<PendingOutboxMessage[]> {
    return (this.#pending.all(limit) as Row[]).map((row) => ({
      seq: row.seq,
      kind: row.kind,
      name: row.name,
      id: row.id,
      key: row.key ?? undefined,
      headers: decodeHeaders(row.headers),
      body: row.body,
      delayMs: row.delay_ms,
    }));
  }

  async markSent(seqs: readonly number[]): Promise<void> {
    this.#markSent.run(JSON.stringify(seqs));
  }

  onAdd(listener: () => void): () => void {
    this.#listeners.add(listener);
    if (this.#watcher === undefined && this.#db.name !== ':memory:' && !this.#db.memory) {
      // Rows added by other processes show up as commits to the WAL.
      this.#watcher = new WalWatcher(this.#db.name, () => {
        for (const l of this.#listeners) l();
      });
      this.#watcher.start();
    }
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) {
        this.#watcher?.close();
        this.#watcher = undefined;
      }
    };
  }

  /** Starts publishing this outbox's rows to `broker`. */
  relay(broker: Broker, options?: OutboxRelayOptions): OutboxRelay {
    return startOutboxRelay(this, broker, options);
  }
}

export function sqliteOutbox(db: Database, options?: SqliteOutboxOptions): SqliteOutbox {
  return new SqliteOutbox(db, options);
}
