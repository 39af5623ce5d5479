import type { Database, Transaction } from 'better-sqlite3';
import { ClosedError } from '../../../core/errors.js';
import { messagingChannels } from '../../diagnostics.js';

interface Outcome {
  results: unknown[];
  errors: unknown[];
  failed: boolean[];
}

interface Op {
  work: () => unknown;
  durable: boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Runs every write submitted in one turn of the event loop in one IMMEDIATE transaction,
 * so a burst of publishes, claims and acks costs one commit (one WAL sync) instead of one
 * each. Each write runs in its own savepoint: one that throws (a full queue, say) is
 * rolled back alone and rejects alone. Promises resolve only after the commit.
 *
 * Only writes that must survive power loss (publishes, group registrations) pay for a WAL
 * sync: a transaction of claims and acks alone commits with synchronous=NORMAL, and the
 * next durable commit's sync covers its frames too. Losing one to a power cut only makes
 * a message come back early, which at-least-once delivery allows.
 */
export class GroupCommit {
  readonly #batch: Transaction<(ops: Op[], out: Outcome) => void>;
  readonly #savepoint: Transaction<(work: () => unknown) => unknown>;
  #pending: Op[] = [];
  #scheduled = false;
  #closed = false;
  readonly #db: Database;
  readonly #syncDurable: boolean;
  #synced = true;
  #lastSyncEnd = 0;
  #lastSyncMs = 0;
  #idle: Promise<void> = Promise.resolve();
  #resolveIdle: (() => void) | undefined;

  constructor(db: Database, syncDurable: boolean) {
    this.#db = db;
    this.#syncDurable = syncDurable;
    this.#synced = syncDurable;
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

  /** `durable`: the caller relies on the write surviving power loss once this resolves. */
  run<R>(work: () => R, durable: boolean): Promise<R> {
    if (this.#closed) return Promise.reject(new ClosedError('the sqlite driver is closed'));
    return new Promise<R>((resolve, reject) => {
      const op = { work, durable, resolve: resolve as (value: unknown) => void, reject };
      this.#pending.push(op);
      if (!this.#scheduled) {
        this.#scheduled = true;
        this.#idle = new Promise((r) => {
          this.#resolveIdle = r;
        });
        const wait = this.#syncDurable ? this.#syncCooldown() : 0;
        if (wait > 0) setTimeout(() => this.#flush(), wait);
        else setImmediate(() => this.#flush());
      }
    });
  }

  /**
   * The WAL sync blocks this thread, so writes cannot pile up behind one as they would
   * behind an asynchronous sync. Under sustained load, wait after a synced commit about as
   * long as its sync took before the next: a sync then never takes more than half the
   * time, and the writes arriving meanwhile share the next one. Idle, this costs nothing.
   */
  #syncCooldown(): number {
    const since = performance.now() - this.#lastSyncEnd;
    return since < this.#lastSyncMs ? Math.ceil(this.#lastSyncMs - since) : 0;
  }

  /** Stops taking writes once those already submitted have committed. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#scheduled) await this.#idle;
  }

  #flush(): void {
    const ops = this.#pending;
    this.#pending = [];
    this.#scheduled = false;
    const out: Outcome = { results: new Array(ops.length), errors: [], failed: [] };
    const started = performance.now();
    try {
      const durable = this.#syncDurable && ops.some((op) => op.durable);
      if (this.#syncDurable) this.#sync(durable);
      this.#batch.immediate(ops, out);
      if (durable) {
        this.#lastSyncEnd = performance.now();
        this.#lastSyncMs = Math.min(this.#lastSyncEnd - started, 20);
      }
    } catch (error) {
      for (const op of ops) op.reject(error);
      this.#settle();
      return;
    }
    if (messagingChannels.groupCommit.hasSubscribers) {
      const durationMs = performance.now() - started;
      messagingChannels.groupCommit.publish({ operations: ops.length, durationMs });
    }
    for (let i = 0; i < ops.length; i++) {
      if (out.failed[i] === true) ops[i]!.reject(out.errors[i]);
      else ops[i]!.resolve(out.results[i]);
    }
    this.#settle();
  }

  #sync(full: boolean): void {
    if (full === this.#synced) return;
    this.#db.pragma(full ? 'synchronous = FULL' : 'synchronous = NORMAL');
    this.#synced = full;
  }

  #settle(): void {
    if (!this.#scheduled) this.#resolveIdle?.();
  }
}
