import { randomUUID } from 'node:crypto';
import type { ClientBase, Pool } from 'pg';
import { InvalidArgumentError } from '../../../core/errors.js';
import type { Broker } from '../../broker.js';
import { encodePayload } from '../../codec.js';
import type { OutboxMessage, PendingOutboxMessage } from '../../outbox/outbox.js';
import type { OutboxRelay, OutboxRelayOptions } from '../../outbox/relay.js';
import { injectTrace } from '../../tracing.js';
import { checkHeaders, checkName, knownKeys, nonNegative, optionalString } from '../../validate.js';
import { NotifyListener } from './listener.js';
import { loadPg } from './load-pg.js';
import { qualifiedName } from './names.js';
import { startLockingRelay } from './outbox-relay.js';

export interface PostgresOutboxOptions {
  /** Optionally schema-qualified. Default `sluice_outbox`. */
  table?: string;
  /** Default 1 MiB of JSON. */
  maxPayloadBytes?: number;
}

const messageKeys = ['queue', 'topic', 'payload', 'id', 'key', 'headers', 'delay'];
const nowMs = 'floor(extract(epoch FROM now()) * 1000)::bigint';

/** The NOTIFY channel relays listen on; the payload names the table. */
export const outboxChannel = 'sluice_outbox';

interface Row {
  oseq: string;
  kind: 'queue' | 'topic';
  name: string;
  id: string;
  key: string | null;
  headers: string;
  body: string;
  wait: string;
}

/** Creates the outbox table in the application's database if missing. */
export function postgresOutbox(
  pool: Pool,
  options?: PostgresOutboxOptions,
): Promise<PostgresOutbox> {
  return PostgresOutbox.open(pool, options);
}

/**
 * The transactional outbox in the application's own PostgreSQL database: `add(client, …)`
 * writes the message with the client the application runs its transaction on, so the
 * message exists if and only if the application's writes commit. The shape follows the
 * shared OutboxStore, except that `add` resolves asynchronously, as every pg query does.
 */
export class PostgresOutbox {
  readonly table: string;
  readonly #pool: Pool;
  readonly #maxBytes: number;
  readonly #name: string;
  readonly #listeners = new Set<() => void>();
  #listener: NotifyListener | undefined;

  private constructor(pool: Pool, table: string, name: string, maxBytes: number) {
    this.#pool = pool;
    this.table = table;
    this.#name = name;
    this.#maxBytes = maxBytes;
  }

  static async open(pool: Pool, options: PostgresOutboxOptions = {}): Promise<PostgresOutbox> {
    const name = options.table ?? 'sluice_outbox';
    const table = qualifiedName('table', name);
    const maxBytes = options.maxPayloadBytes ?? 1024 * 1024;
    await pool.query(`CREATE TABLE IF NOT EXISTS ${table} (
      oseq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      kind text NOT NULL,
      name text NOT NULL,
      id text NOT NULL,
      key text,
      headers text NOT NULL,
      body text NOT NULL,
      due_at bigint NOT NULL)`);
    return new PostgresOutbox(pool, table, name, maxBytes);
  }

  /**
   * Writes `message` with the application's client, inside its open transaction; resolves
   * with the message id. Relays see it, and are woken by NOTIFY, only once that commits.
   */
  async add<T>(client: ClientBase, message: OutboxMessage<T>): Promise<string> {
    if (typeof client?.query !== 'function') {
      throw new InvalidArgumentError('outbox.add takes the pg client running your transaction');
    }
    const row = this.#row(message);
    await client.query(
      `WITH added AS (
         INSERT INTO ${this.table} (kind, name, id, key, headers, body, due_at)
         VALUES ($1, $2, $3, $4, $5, $6, ${nowMs} + $7)
         RETURNING 1)
       SELECT pg_notify($8, $9) FROM added`,
      [
        row.kind,
        row.name,
        row.id,
        row.key,
        row.headers,
        row.body,
        row.delay,
        outboxChannel,
        this.#name,
      ],
    );
    return row.id;
  }

  /** The oldest unsent rows, in the order they were added (without locking them). */
  async pending(limit: number): Promise<PendingOutboxMessage[]> {
    const { rows } = await this.#pool.query<Row>(
      `SELECT oseq, kind, name, id, key, headers, body, greatest(0, due_at - ${nowMs}) AS wait
       FROM ${this.table} ORDER BY oseq LIMIT $1`,
      [limit],
    );
    return rows.map(toPending);
  }

  async markSent(seqs: readonly number[]): Promise<void> {
    await this.#pool.query(`DELETE FROM ${this.table} WHERE oseq = ANY($1::bigint[])`, [[...seqs]]);
  }

  /** Calls `listener` when a transaction that added rows commits, in any process. */
  onAdd(listener: () => void): () => void {
    this.#listeners.add(listener);
    if (this.#listener === undefined) {
      const started = this.#listen();
      started.catch(() => {});
    }
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size > 0) return;
      void this.#listener?.close();
      this.#listener = undefined;
    };
  }

  /** Unsent rows. */
  async count(): Promise<number> {
    const { rows } = await this.#pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${this.table}`,
    );
    return Number(rows[0]!.n);
  }

  /**
   * Starts a relay publishing this outbox to `broker`. Each round locks its rows with
   * SKIP LOCKED until they are published and deleted, so any number of relays (one per
   * application instance) share the work without publishing a row twice.
   */
  relay(broker: Broker, options: OutboxRelayOptions = {}): OutboxRelay {
    return startLockingRelay(this.#pool, this.table, this, broker, options);
  }

  async #listen(): Promise<void> {
    const pg = await loadPg();
    const listener = new NotifyListener(pg, this.#pool.options, outboxChannel, this.#name);
    this.#listener = listener;
    listener.subscribe(this.#name, () => {
      for (const l of this.#listeners) l();
    });
    await listener.start();
  }

  #row<T>(message: OutboxMessage<T>) {
    if (typeof message !== 'object' || message === null) {
      throw new InvalidArgumentError('each outbox message must be an object with a payload');
    }
    knownKeys('outbox message field', message, messageKeys);
    const queue = 'queue' in message ? message.queue : undefined;
    const topic = 'topic' in message ? message.topic : undefined;
    if ((queue === undefined) === (topic === undefined)) {
      throw new InvalidArgumentError('an outbox message names exactly one of queue or topic');
    }
    const kind = queue === undefined ? 'topic' : 'queue';
    const headers = checkHeaders(message.headers);
    if (headers.traceparent === undefined) injectTrace(headers);
    return {
      kind,
      name: checkName(kind, queue ?? topic),
      id: optionalString('id', message.id, 256) ?? randomUUID(),
      key: optionalString('key', message.key, 1024) ?? null,
      headers: JSON.stringify(headers),
      body: encodePayload(message.payload, undefined, this.#maxBytes),
      delay: nonNegative('delay', message.delay, 0),
    };
  }
}

export function toPending(row: Row): PendingOutboxMessage {
  return {
    seq: Number(row.oseq),
    kind: row.kind,
    name: row.name,
    id: row.id,
    key: row.key ?? undefined,
    headers: JSON.parse(row.headers) as Record<string, string>,
    body: row.body,
    delayMs: Number(row.wait),
  };
}

export type { Row as OutboxRow };
