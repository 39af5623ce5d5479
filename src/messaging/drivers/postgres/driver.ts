import type { Pool } from 'pg';
import {
  ClosedError,
  EngineUnavailableError,
  InvalidArgumentError,
  isSluiceError,
} from '../../../core/errors.js';
import type {
  ClaimRequest,
  ClaimResult,
  DeadLetterParts,
  EnqueueOptions,
  EnqueueOutcome,
  OutgoingRecord,
  QueueStats,
  ReleaseOptions,
  Source,
  StreamParts,
  Target,
} from '../../driver.js';
import { everyCapability } from '../../driver.js';
import { AssembledDriver, type DriverStore, storeParts } from '../assemble.js';
import { engineUnreachable } from '../unreachable.js';
import { type BatchedEnqueue, batchedEnqueue } from './batched-enqueue.js';
import { type PgContext, sourceKey, streamKey } from './context.js';
import { ensureSchema, quote } from './ddl.js';
import { listDeadLetters, purgeDeadLetters, replayDeadLetters } from './dead-letters.js';
import { enqueue } from './enqueue.js';
import { enqueueInOneStatement } from './enqueue-fast.js';
import * as leases from './leases.js';
import { NotifyListener } from './listener.js';
import { loadPg } from './load-pg.js';
import { countReconnect, setConnected } from './metrics.js';
import { type PostgresDriverOptions, resolvePostgresOptions } from './options.js';
import * as streams from './streams.js';

const sweepEveryMs = 10_000;

/** Opens the driver: loads `pg`, creates the schema if missing and starts listening. */
export async function openPostgresDriver(
  url: string,
  options: PostgresDriverOptions = {},
): Promise<PostgresDriver> {
  if (typeof url !== 'string' || url.length === 0) {
    throw new InvalidArgumentError(
      'the postgres driver needs url: postgres://user@host:5432/database',
    );
  }
  const resolved = resolvePostgresOptions(options);
  const pg = await loadPg();
  const config = {
    connectionString: url,
    application_name: resolved.applicationName,
    connectionTimeoutMillis: resolved.connectTimeoutMs,
  };
  const pool = new pg.Pool({ ...config, max: resolved.poolSize });
  const channel = `sluice_${resolved.schema}`;
  const listener = new NotifyListener(pg, config, channel, resolved.schema);
  const driver = new PostgresDriver(
    new PostgresStore({ pool, s: quote(resolved.schema), channel }, resolved.schema, listener),
  );
  try {
    await ensureSchema(pool, resolved.schema);
    await listener.start();
  } catch (error) {
    await driver.close();
    throw cannotConnect(error) ? engineUnreachable('PostgreSQL', url, error) : error;
  }
  return driver;
}

/**
 * Queues, topics and streams in PostgreSQL tables (see ddl.ts): claims with
 * `FOR UPDATE SKIP LOCKED`, leases as a `lease_until` column, wake-ups by LISTEN/NOTIFY.
 */
export class PostgresDriver extends AssembledDriver {
  /** The schema holding the tables (unquoted). */
  readonly schema: string;
  readonly #store: PostgresStore;

  constructor(store: PostgresStore) {
    super(storeParts('postgres', store));
    this.#store = store;
    this.schema = store.schema;
  }

  /** The pool, for the outbox and idempotency store sharing this database. */
  get pool(): Pool {
    return this.#store.pool;
  }

  get connected(): boolean {
    return this.#store.connected;
  }
}

/** The queue, dead-letter and stream work, each statement run through the shared pool. */
class PostgresStore implements DriverStore {
  readonly capabilities = everyCapability;
  /** The schema holding the tables (unquoted). */
  readonly schema: string;
  readonly #ctx: PgContext;
  readonly #listener: NotifyListener;
  readonly #sweeper: NodeJS.Timeout;
  readonly #groupCommit: BatchedEnqueue;
  #poolUp = true;
  #closed = false;

  readonly deadLetters: DeadLetterParts = {
    list: (source, limit) => this.#run(() => listDeadLetters(this.#ctx, sourceKey(source), limit)),
    replay: (source, ids) => this.#run(() => replayDeadLetters(this.#ctx, sourceKey(source), ids)),
    purge: (source, ids) => this.#run(() => purgeDeadLetters(this.#ctx, sourceKey(source), ids)),
  };

  readonly streams: StreamParts = {
    append: (stream, records, retention) =>
      this.#run(() => streams.append(this.#ctx, stream, records, retention)),
    read: (stream, fromOffset, limit) =>
      this.#run(() => streams.read(this.#ctx, stream, fromOffset, limit)),
    resolvePosition: (stream, position) =>
      this.#run(() => streams.resolvePosition(this.#ctx, stream, position)),
    commitOffset: (stream, group, offset) =>
      this.#run(() => streams.commitOffset(this.#ctx, stream, group, offset)),
    committedOffset: (stream, group) =>
      this.#run(() => streams.committedOffset(this.#ctx, stream, group)),
    onAppend: (stream, listener) => this.#listener.subscribe(streamKey(stream), listener),
  };

  constructor(ctx: PgContext, schema: string, listener: NotifyListener) {
    this.#ctx = ctx;
    this.schema = schema;
    this.#listener = listener;
    // Tracked per statement, not per publish: a batch carries many calls.
    this.#groupCommit = batchedEnqueue(
      (queue, records, options) =>
        this.#run(() => enqueueInOneStatement(ctx, queue, records, options)),
      (queue, records, options) =>
        this.#run(() => enqueue(ctx, { kind: 'queue', queue }, records, options)),
    );
    // An idle pooled connection that dies (server restart, pg_terminate_backend) is dropped
    // by the pool; the next query opens a new one.
    ctx.pool.on('error', () => this.#down());
    setConnected(schema, 'pool', true);
    this.#sweeper = setInterval(() => void this.#sweep(), sweepEveryMs);
    this.#sweeper.unref();
  }

  /** The pool, for the outbox and idempotency store sharing this database. */
  get pool(): Pool {
    return this.#ctx.pool;
  }

  get connected(): boolean {
    return this.#poolUp && this.#listener.connected;
  }

  enqueue(
    target: Target,
    records: readonly OutgoingRecord[],
    options: EnqueueOptions,
  ): Promise<EnqueueOutcome[]> {
    if (target.kind === 'queue') return this.#groupCommit.enqueue(target.queue, records, options);
    return this.#run(() => enqueue(this.#ctx, target, records, options));
  }

  createGroup(topic: string, group: string): Promise<void> {
    const { s, pool } = this.#ctx;
    return this.#run(async () => {
      await pool.query(
        `INSERT INTO ${s}.groups (topic, grp, created_at) VALUES ($1, $2, ${s}.now_ms())
         ON CONFLICT DO NOTHING`,
        [topic, group],
      );
    });
  }

  claim(source: Source, request: ClaimRequest): Promise<ClaimResult> {
    const key = sourceKey(source);
    return this.#run(() => leases.claim(this.#ctx, key, request));
  }

  ack(source: Source, receipts: readonly string[]): Promise<void> {
    return this.#run(() => leases.ack(this.#ctx, sourceKey(source), receipts));
  }

  release(source: Source, receipt: string, options: ReleaseOptions): Promise<void> {
    return this.#run(() => leases.release(this.#ctx, sourceKey(source), receipt, options));
  }

  extendLease(source: Source, receipts: readonly string[], leaseMs: number): Promise<string[]> {
    return this.#run(() => leases.extendLease(this.#ctx, sourceKey(source), receipts, leaseMs));
  }

  deadLetter(source: Source, receipt: string, error: string): Promise<void> {
    return this.#run(() => leases.deadLetter(this.#ctx, sourceKey(source), receipt, error));
  }

  onWork(source: Source, listener: () => void): () => void {
    return this.#listener.subscribe(sourceKey(source), listener);
  }

  stats(source: Source): Promise<QueueStats> {
    return this.#run(() => leases.stats(this.#ctx, sourceKey(source)));
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweeper);
    await this.#listener.close();
    await this.#ctx.pool.end().catch(() => {});
    setConnected(this.schema, 'pool', false);
  }

  /**
   * Runs one operation, tracking whether the server is reachable. Errors always propagate;
   * a lost or refused connection as SLUICE_ENGINE_UNAVAILABLE (a cut-off COMMIT may still
   * have stored a publish: a retry with the same id is safe).
   */
  async #run<R>(work: () => Promise<R>): Promise<R> {
    // A write that waited in the group commit while the driver closed.
    if (this.#closed) throw new ClosedError('the postgres driver is closed');
    try {
      const result = await work();
      if (!this.#poolUp) {
        this.#poolUp = true;
        setConnected(this.schema, 'pool', true);
        countReconnect(this.schema, 'pool');
      }
      return result;
    } catch (error) {
      if (!isConnectionError(error)) throw error;
      this.#down();
      throw new EngineUnavailableError(`PostgreSQL is unreachable: ${String(error)}`, {
        cause: error,
      });
    }
  }

  #down(): void {
    if (this.#closed || !this.#poolUp) return;
    this.#poolUp = false;
    setConnected(this.schema, 'pool', false);
  }

  async #sweep(): Promise<void> {
    const { s, pool } = this.#ctx;
    await this.#run(() =>
      pool.query(
        `DELETE FROM ${s}.dedupe WHERE ctid = ANY(ARRAY(
           SELECT ctid FROM ${s}.dedupe WHERE expires_at <= ${s}.now_ms() LIMIT 10000))`,
      ),
    ).catch(() => {});
  }
}

/** Lost or refused connections, and sessions the server ended (admin shutdown, crash). */
export function isConnectionError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (code.startsWith('08') || code.startsWith('57P')) return true;
    if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT'].includes(code)) return true;
  }
  const message = (error as { message?: unknown }).message;
  // "…is not queryable": a pooled client whose connection had already failed.
  return (
    typeof message === 'string' &&
    /Connection terminated|connection timeout|connection error and is not queryable/i.test(message)
  );
}

/**
 * Reaching the server failed (a socket error, a timeout, or SQLSTATE class 08 connection,
 * 28 credentials, 3D database, 57P server shutting down or starting), rather than a
 * statement run once connected.
 */
function cannotConnect(error: unknown): boolean {
  if (isSluiceError(error)) return false;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return true;
  return /^(08|28|3D|57P)/.test(code);
}
