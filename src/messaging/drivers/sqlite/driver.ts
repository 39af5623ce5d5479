import Database from 'better-sqlite3';
import { ClosedError } from '../../../core/errors.js';
import type {
  ClaimRequest,
  ClaimResult,
  DeadLetterParts,
  DriverCapabilities,
  EnqueueOptions,
  EnqueueOutcome,
  MessagingDriver,
  OutgoingRecord,
  QueueStats,
  ReleaseOptions,
  Source,
  StreamParts,
  Target,
} from '../../driver.js';
import { everyCapability } from '../../driver.js';
import { labelsOf, messagingCounters } from '../../metrics.js';
import { assembleDriver, type DriverStore, storeParts } from '../assemble.js';
import {
  type ResolvedSqliteOptions,
  resolveSqliteOptions,
  type SqliteDriverOptions,
} from './options.js';
import { queueAddress, SqliteQueues, subscriptionAddress } from './queues.js';
import { prepareDatabase } from './schema.js';
import { SqliteStreams } from './streams.js';
import { TransactionBatcher } from './transaction-batcher.js';
import { WalSync } from './wal-sync.js';
import { WalWatcher } from './wal-watcher.js';

const dedupePurgeEveryMs = 1000;

/**
 * The embedded default: one SQLite file in WAL mode, shared safely by several processes.
 * Writes are group-committed; other processes learn of commits through the WAL watcher.
 */
export function openSqliteDriver(path: string, options: SqliteDriverOptions = {}): MessagingDriver {
  const store = new SqliteStore(path, resolveSqliteOptions(options));
  return assembleDriver(storeParts('sqlite', store));
}

/** Queues, topic groups, dead letters and streams in one SQLite file. */
class SqliteStore implements DriverStore {
  readonly capabilities: DriverCapabilities;
  readonly #db: Database.Database;
  readonly #writer: TransactionBatcher;
  readonly #queues: SqliteQueues;
  readonly #streams: SqliteStreams;
  readonly #work = new Map<string, Set<() => void>>();
  readonly #appends = new Map<string, Set<() => void>>();
  readonly #watcher: WalWatcher | undefined;
  readonly #dataVersion: Database.Statement;
  #seenVersion: unknown;
  readonly #maxDeadLetters: number;
  #lastPurge = 0;
  #closed = false;

  readonly deadLetters: DeadLetterParts = {
    list: async (source, limit) => this.#queues.listDead(addressOf(source), limit),
    replay: async (source, ids) => {
      const address = addressOf(source);
      const count = await this.#write(() => {
        const dead = this.#queues.takeDead(address, ids);
        this.#queues.restore(address, dead, Date.now());
        return dead.length;
      });
      this.#notify(address);
      return count;
    },
    purge: (source, ids) => this.#write(() => this.#queues.takeDead(addressOf(source), ids).length),
  };

  readonly streams: StreamParts = {
    append: (stream, records, retention) =>
      this.#write(
        () => this.#streams.append(stream, records, retention, Date.now()),
        () => {
          for (const listener of this.#appends.get(stream) ?? []) listener();
        },
      ),
    read: async (stream, fromOffset, limit) => this.#streams.read(stream, fromOffset, limit),
    resolvePosition: async (stream, position) => this.#streams.resolve(stream, position),
    commitOffset: (stream, group, offset) =>
      this.#writeLight(() => this.#streams.commit(stream, group, offset)),
    committedOffset: async (stream, group) => this.#streams.committed(stream, group),
    onAppend: (stream, listener) => subscribe(this.#appends, stream, listener),
  };

  constructor(path: string, options: ResolvedSqliteOptions) {
    const inMemory = path === ':memory:';
    this.capabilities = { ...everyCapability, durable: !inMemory };
    this.#maxDeadLetters = options.maxDeadLetters;
    this.#db = new Database(path);
    // With 'full', durable writes are synced by WalSync off the main thread, not by SQLite.
    prepareDatabase(this.#db, {
      synchronous: 'normal',
      busyTimeoutMs: options.busyTimeout ?? 5000,
    });
    // A temporary or in-memory database has no WAL to sync, and survives nothing anyway.
    const wal = this.#db.pragma('journal_mode', { simple: true }) === 'wal';
    const syncDurable = wal && (options.synchronous ?? 'full') === 'full';
    this.#writer = new TransactionBatcher(
      this.#db,
      syncDurable ? new WalSync(this.#db.name) : undefined,
    );
    this.#queues = new SqliteQueues(this.#db);
    this.#streams = new SqliteStreams(this.#db);
    this.#dataVersion = this.#db.prepare('PRAGMA data_version').pluck();
    this.#seenVersion = this.#dataVersion.get();
    if (!inMemory && options.watch !== false) {
      this.#watcher = new WalWatcher(path, () => this.#onWalChange());
      this.#watcher.start();
    }
  }

  async enqueue(
    target: Target,
    records: readonly OutgoingRecord[],
    options: EnqueueOptions,
  ): Promise<EnqueueOutcome[]> {
    const { outcomes } = await this.#write(
      () => {
        const now = Date.now();
        const addresses =
          target.kind === 'queue'
            ? [queueAddress(target.queue)]
            : this.#queues.groupAddresses(target.topic);
        const dedupeTarget = target.kind === 'queue' ? `q:${target.queue}` : `t:${target.topic}`;
        const outcomes = this.#queues.enqueue(dedupeTarget, addresses, records, options, now);
        if (now - this.#lastPurge > dedupePurgeEveryMs) {
          this.#lastPurge = now;
          this.#queues.purgeExpiredDedupe(now);
        }
        return { outcomes, addresses };
      },
      ({ addresses }) => {
        for (const address of addresses) this.#notify(address);
      },
    );
    return outcomes;
  }

  async createGroup(topic: string, group: string): Promise<void> {
    await this.#write(() => this.#queues.addGroup(topic, group, Date.now()));
  }

  async claim(source: Source, request: ClaimRequest): Promise<ClaimResult> {
    const address = addressOf(source);
    // A read first: an idle consumer never takes the write lock.
    if (!this.#queues.hasReady(address, Date.now())) {
      return { deliveries: [], nextDueAt: this.#queues.nextDue(address, Date.now()) };
    }
    const deliveries = await this.#writeLight(() =>
      this.#queues.claim(address, request, Date.now()),
    );
    const nextDueAt =
      deliveries.length < request.max ? this.#queues.nextDue(address, Date.now()) : undefined;
    return { deliveries, nextDueAt };
  }

  async ack(source: Source, receipts: readonly string[]): Promise<void> {
    const address = addressOf(source);
    const removed = await this.#writeLight(() => this.#queues.ack(address, receipts));
    // An ack can unblock the next message of an ordering key.
    if (removed > 0) this.#notify(address);
  }

  async release(source: Source, receipt: string, options: ReleaseOptions): Promise<void> {
    const address = addressOf(source);
    await this.#writeLight(() => this.#queues.release(address, receipt, options, Date.now()));
    this.#notify(address);
  }

  extendLease(source: Source, receipts: readonly string[], leaseMs: number): Promise<string[]> {
    const address = addressOf(source);
    return this.#writeLight(() => this.#queues.extend(address, receipts, Date.now() + leaseMs));
  }

  async deadLetter(source: Source, receipt: string, error: string): Promise<void> {
    const address = addressOf(source);
    const dropped = await this.#writeLight(() =>
      this.#queues.deadLetter(address, receipt, error, Date.now(), this.#maxDeadLetters),
    );
    if (dropped > 0)
      messagingCounters.deadLettersDropped().inc(labelsOf('sqlite', source), dropped);
    this.#notify(address);
  }

  onWork(source: Source, listener: () => void): () => void {
    return subscribe(this.#work, addressOf(source), listener);
  }

  async stats(source: Source): Promise<QueueStats> {
    return this.#queues.stats(addressOf(source), Date.now());
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#watcher?.close();
    await this.#writer.close();
    this.#work.clear();
    this.#appends.clear();
    this.#db.close();
  }

  /**
   * A write that must survive power loss before its promise resolves; `committed` runs at
   * commit, before the sync, so consumers in this process start as soon as others could.
   */
  #write<R>(work: () => R, committed?: (result: R) => void): Promise<R> {
    if (this.#closed) return Promise.reject(new ClosedError('the sqlite driver is closed'));
    return this.#writer.run(work, true, committed);
  }

  /** A write whose loss in a power cut only makes a message come back early. */
  #writeLight<R>(work: () => R): Promise<R> {
    if (this.#closed) return Promise.reject(new ClosedError('the sqlite driver is closed'));
    return this.#writer.run(work, false);
  }

  #notify(address: string): void {
    for (const listener of this.#work.get(address) ?? []) listener();
  }

  /**
   * The watcher also sees this connection's own commits, whose listeners were already told.
   * data_version changes only when another connection commits, so those cost no wake-up.
   */
  #onWalChange(): void {
    if (this.#closed) return;
    const version = this.#dataVersion.get();
    if (version === this.#seenVersion) return;
    this.#seenVersion = version;
    this.#notifyAll();
  }

  #notifyAll(): void {
    for (const listeners of this.#work.values()) for (const listener of listeners) listener();
    for (const listeners of this.#appends.values()) for (const listener of listeners) listener();
  }
}

function addressOf(source: Source): string {
  return source.kind === 'queue'
    ? queueAddress(source.queue)
    : subscriptionAddress(source.topic, source.group);
}

function subscribe(map: Map<string, Set<() => void>>, key: string, listener: () => void) {
  let set = map.get(key);
  if (set === undefined) {
    set = new Set();
    map.set(key, set);
  }
  set.add(listener);
  return () => {
    set.delete(listener);
    if (set.size === 0) map.delete(key);
  };
}
