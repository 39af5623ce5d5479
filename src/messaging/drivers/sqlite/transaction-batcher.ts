import type { Database, Transaction } from 'better-sqlite3';
import { ClosedError } from '../../../core/errors.js';
import { messagingChannels } from '../../diagnostics.js';

/** Makes committed writes durable: `flush` resolves once every earlier commit is on disk. */
export interface DurableSync {
  flush(): Promise<void>;
  close(): Promise<void>;
}

interface Outcome {
  results: unknown[];
  errors: unknown[];
  failed: boolean[];
}

interface Op {
  work: () => unknown;
  durable: boolean;
  committed: ((result: unknown) => void) | undefined;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * SQLite's group commit. Unlike drivers/group-commit.ts, which sends waiting batches of one
 * lane together in an async call, this runs synchronous writes of every kind (publishes,
 * claims, acks) in one transaction on this thread, and resolves each when its own
 * durability needs are met.
 *
 * Runs every write submitted in one turn of the event loop in one IMMEDIATE transaction,
 * so a burst of publishes, claims and acks costs one commit instead of one each. Each write
 * runs in its own savepoint: one that throws (a full queue, say) is rolled back alone and
 * rejects alone.
 *
 * The connection commits with synchronous=NORMAL, so a commit never blocks this thread on
 * the disk. Writes that must survive power loss (publishes, group registrations) resolve
 * after the WAL sync that follows their commit, which runs off the main thread while the
 * next transactions go on; claims and acks resolve at commit, as losing one to a power cut
 * only makes a message come back early, which at-least-once delivery allows. A commit is
 * visible to consumers before it is synced: a message may be handled before its publish
 * resolves, never lost after.
 */
export class TransactionBatcher {
  readonly #batch: Transaction<(ops: Op[], out: Outcome) => void>;
  readonly #savepoint: Transaction<(work: () => unknown) => unknown>;
  readonly #wal: DurableSync | undefined;
  #pending: Op[] = [];
  #scheduled = false;
  #closed = false;
  #idle: Promise<void> = Promise.resolve();
  #resolveIdle: (() => void) | undefined;

  /** `wal`: syncs durable writes; without it (`synchronous: 'normal'`, `:memory:`) none is. */
  constructor(db: Database, wal: DurableSync | undefined) {
    this.#wal = wal;
    // Built once: better-sqlite3 makes a nested call of a transaction function a savepoint.
    this.#savepoint = db.transaction((work: () => unknown) => work());
    this.#batch = db.transaction((ops: Op[], out: Outcome) => {
      for (let i = 0; i < ops.length; i++) {
        try {
          out.results[i] = ops.length === 1 ? ops[i]!.work() : this.#savepoint(ops[i]!.work);
        } catch (error) {
          if (ops.length === 1) throw error;
          out.errors[i] = error;
          out.failed[i] = true;
        }
      }
    });
  }

  /**
   * `durable`: the caller relies on the write surviving power loss once this resolves.
   * `committed` runs as soon as the write is committed (visible to every connection).
   */
  run<R>(work: () => R, durable: boolean, committed?: (result: R) => void): Promise<R> {
    if (this.#closed) return Promise.reject(new ClosedError('the sqlite driver is closed'));
    return new Promise<R>((resolve, reject) => {
      this.#pending.push({
        work,
        durable,
        committed: committed as ((result: unknown) => void) | undefined,
        resolve: resolve as (value: unknown) => void,
        reject,
      });
      if (!this.#scheduled) {
        this.#scheduled = true;
        this.#idle = new Promise((r) => {
          this.#resolveIdle = r;
        });
        setImmediate(() => this.#flush());
      }
    });
  }

  /** Stops taking writes once those already submitted have committed and synced. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#scheduled) await this.#idle;
    await this.#wal?.close();
  }

  #flush(): void {
    const ops = this.#pending;
    this.#pending = [];
    this.#scheduled = false;
    const out: Outcome = { results: new Array(ops.length), errors: [], failed: [] };
    const started = performance.now();
    try {
      this.#batch.immediate(ops, out);
    } catch (error) {
      for (const op of ops) op.reject(error);
      this.#settle();
      return;
    }
    if (messagingChannels.groupCommit.hasSubscribers) {
      const durationMs = performance.now() - started;
      messagingChannels.groupCommit.publish({ operations: ops.length, durationMs });
    }
    let synced: Promise<void> | undefined;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      if (out.failed[i] === true) op.reject(out.errors[i]);
      else if (op.durable && this.#wal !== undefined) {
        synced ??= this.#wal.flush();
        const result = out.results[i];
        synced.then(() => op.resolve(result), op.reject);
      } else op.resolve(out.results[i]);
    }
    for (let i = 0; i < ops.length; i++) {
      if (out.failed[i] !== true) ops[i]!.committed?.(out.results[i]);
    }
    this.#settle();
  }

  #settle(): void {
    if (!this.#scheduled) this.#resolveIdle?.();
  }
}
