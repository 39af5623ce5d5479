import { channels } from '../core/diagnostics.js';
import {
  AbortedError,
  InvalidArgumentError,
  isBulkheadFullError,
  isLoadShedError,
  isRateLimitedError,
  isTimeoutError,
  LoadShedError,
  RateLimitedError,
} from '../core/errors.js';
import { PolicyBase } from '../resilience/base.js';
import type { ExecutionContext } from '../resilience/context.js';
import { invoke } from '../resilience/invoke.js';
import { runIn, type Work } from '../resilience/policy.js';
import type { ConcurrencyLimit, LimitToken } from './concurrency-limit.js';
import { positive } from './limiter-options.js';
import type { RateLimiter } from './rate-limiter.js';
import { SlotQueue } from './slot-queue.js';

/** How a failed call releases its concurrency token. */
export type FailureOutcome = 'dropped' | 'ignore' | 'success';

export interface LoadShedderOptions {
  name?: string;
  /** Admission by rate, per key. */
  limiter?: RateLimiter;
  /** Admission by calls in flight; checked before the rate limiter. */
  concurrencyLimit?: ConcurrencyLimit;
  /** The `retryAfter` a concurrency rejection carries. Default 1,000 ms. */
  retryAfterMs?: number;
  /**
   * Default: timeouts and overload errors from downstream (load shed, rate limited,
   * bulkhead full) are drops, which shrink an adaptive limit; other errors are ignored,
   * because a fast failure says nothing about capacity.
   */
  classify?: (error: unknown) => FailureOutcome;
  /**
   * Calls that may wait for a slot of the concurrency limit when it is full, oldest served
   * first; more are refused at once. Default 0: every call over the limit is refused.
   */
  maxQueue?: number;
  /**
   * The waiting calls are all refused when no admitted call has ended for this long (the
   * work behind the limit stopped answering), counted in steps of the event loop's timers
   * so that time the process spends waiting for its CPU does not count. Default 1,000 ms.
   */
  failFastMs?: number;
}

export interface AdmitOptions {
  /** Rate-limit key. Default `'global'`. */
  key?: string;
  cost?: number;
  signal?: AbortSignal;
}

export interface LoadShedderStats {
  limit: number | null;
  inflight: number | null;
  /** Calls waiting for a slot of the concurrency limit. */
  queued: number;
  shed: number;
}

const NO_TOKEN: LimitToken = { success() {}, dropped() {}, ignore() {} };

export function defaultClassify(error: unknown): FailureOutcome {
  const overload =
    isTimeoutError(error) ||
    isLoadShedError(error) ||
    isRateLimitedError(error) ||
    isBulkheadFullError(error);
  return overload ? 'dropped' : 'ignore';
}

/**
 * Admission control as a policy: `execute` runs the work when the concurrency limit has a
 * free slot and the rate limiter allows it, and otherwise rejects with LoadShedError /
 * RateLimitedError carrying `retryAfter` (ms). With `maxQueue`, a call over the concurrency
 * limit waits for a slot (see SlotQueue) rather than being refused at once. The slot is
 * released with the outcome of the work, which is what an adaptive limit learns from; the
 * time spent waiting is not part of that latency. `wrap(retry, loadShedder(...), timeout)`
 * composes it like any other policy.
 */
export class LoadShedder extends PolicyBase {
  readonly name: string;
  readonly #limiter: RateLimiter | undefined;
  readonly #concurrency: ConcurrencyLimit | undefined;
  readonly #retryAfterMs: number;
  readonly #classify: (error: unknown) => FailureOutcome;
  readonly #queue: SlotQueue | undefined;
  #shed = 0;

  constructor(options: LoadShedderOptions) {
    super();
    if (options.limiter === undefined && options.concurrencyLimit === undefined) {
      throw new InvalidArgumentError('loadShedder needs a `limiter` or a `concurrencyLimit`');
    }
    this.name = options.name ?? 'default';
    this.#limiter = options.limiter;
    this.#concurrency = options.concurrencyLimit;
    this.#retryAfterMs = positive('retryAfterMs', options.retryAfterMs ?? 1_000);
    this.#classify = options.classify ?? defaultClassify;
    const maxQueue = options.maxQueue ?? 0;
    if (!(Number.isInteger(maxQueue) && maxQueue >= 0)) {
      throw new InvalidArgumentError(`maxQueue must be an integer >= 0, got ${maxQueue}`);
    }
    const failFastMs = positive('failFastMs', options.failFastMs ?? 1_000);
    this.#queue =
      maxQueue > 0 && this.#concurrency !== undefined
        ? new SlotQueue(this.#concurrency, maxQueue, failFastMs, () => {
            this.#refused(this.#retryAfterMs);
            return new LoadShedError(`"${this.name}": no call ended for ${failFastMs} ms`, {
              retryAfter: this.#retryAfterMs,
            });
          })
        : undefined;
  }

  stats(): LoadShedderStats {
    const limit = this.#concurrency;
    return {
      limit: limit === undefined ? null : limit.limit,
      inflight: limit === undefined ? null : limit.inflight,
      queued: this.#queue === undefined ? 0 : this.#queue.length,
      shed: this.#shed,
    };
  }

  /**
   * Admits one call or throws LoadShedError / RateLimitedError. Release the token when the
   * call ends. For callers that admit per key (`execute` uses the key `'global'`).
   */
  async acquire(admit: AdmitOptions = {}): Promise<LimitToken> {
    const token = await this.#admit(admit);
    const queue = this.#queue;
    if (queue === undefined) return token;
    return {
      success() {
        token.success();
        queue.ended();
      },
      dropped() {
        token.dropped();
        queue.ended();
      },
      ignore() {
        token.ignore();
        queue.ended();
      },
    };
  }

  async #admit(admit: AdmitOptions): Promise<LimitToken> {
    if (admit.signal?.aborted) throw new AbortedError(undefined, { cause: admit.signal.reason });
    const slot = this.#slot(() => admit.signal);
    const token = slot instanceof Promise ? await slot : slot;
    if (this.#limiter === undefined) return token;
    let allowed = false;
    try {
      const decision = await this.#limiter.take(admit.key ?? 'global', admit.cost);
      allowed = decision.allowed;
      if (!allowed) {
        this.#refused(decision.retryAfterMs);
        throw new RateLimitedError(`"${this.name}": rate limit of ${decision.limit} exceeded`, {
          retryAfter: decision.retryAfterMs,
        });
      }
    } finally {
      if (!allowed) {
        token.ignore();
        this.#queue?.ended();
      }
    }
    return token;
  }

  [runIn]<T>(fn: Work<T>, context: ExecutionContext): Promise<T> {
    if (context.aborted) return Promise.reject(context.abortError());
    if (this.#limiter !== undefined) {
      return this.#admit({ signal: context.signal }).then((token) =>
        this.#released(token, invoke(fn, context)),
      );
    }
    let slot: LimitToken | Promise<LimitToken>;
    try {
      slot = this.#slot(() => context.signal);
    } catch (error) {
      return Promise.reject(error);
    }
    if (slot instanceof Promise) {
      return slot.then((token) => this.#released(token, invoke(fn, context)));
    }
    return this.#released(slot, invoke(fn, context));
  }

  /**
   * `execute` for work that takes no signal, without the execution context `execute` builds
   * per call: admits (or waits in the queue) or rejects with LoadShedError, and releases the
   * slot with the work's outcome. The gateway's default limit runs every request through
   * this; `signal` takes a call that is still waiting out of the queue.
   */
  call<T>(fn: () => T | PromiseLike<T>, signal?: AbortSignal): Promise<T> {
    if (this.#limiter !== undefined)
      return this.execute(() => fn(), signal === undefined ? {} : { signal });
    let slot: LimitToken | Promise<LimitToken>;
    try {
      slot = this.#slot(() => signal);
    } catch (error) {
      return Promise.reject(error);
    }
    if (slot instanceof Promise) return slot.then((token) => this.#start(token, fn));
    return this.#start(slot, fn);
  }

  #start<T>(token: LimitToken, fn: () => T | PromiseLike<T>): Promise<T> {
    let work: Promise<T>;
    try {
      work = Promise.resolve(fn());
    } catch (error) {
      work = Promise.reject(error);
    }
    return this.#released(token, work);
  }

  #released<T>(token: LimitToken, work: Promise<T>): Promise<T> {
    return work.then(
      (value) => {
        token.success();
        this.#queue?.ended();
        return value;
      },
      (error: unknown) => {
        token[this.#classify(error)]();
        this.#queue?.ended();
        throw error;
      },
    );
  }

  /**
   * A free slot now, a wait for one in the queue, or LoadShedError. `signal` is read only
   * for a call that waits (an execution context makes its signal when first asked).
   */
  #slot(signal: () => AbortSignal | undefined): LimitToken | Promise<LimitToken> {
    const concurrency = this.#concurrency;
    if (concurrency === undefined) return NO_TOKEN;
    const queue = this.#queue;
    // Once callers wait, a newcomer queues behind them rather than take the next free slot.
    if (queue === undefined || queue.length === 0) {
      const token = concurrency.tryAcquire();
      if (token !== undefined) return token;
    }
    const waiting = queue?.wait(signal());
    if (waiting !== undefined) return waiting;
    this.#refused(this.#retryAfterMs);
    const full = queue === undefined ? '' : ` and ${queue.length} waiting`;
    throw new LoadShedError(`"${this.name}": ${concurrency.limit} calls already in flight${full}`, {
      retryAfter: this.#retryAfterMs,
    });
  }

  #refused(retryAfterMs: number): void {
    this.#shed++;
    if (channels.shed.hasSubscribers) {
      channels.shed.publish({ name: this.name, retryAfterMs });
    }
  }
}

export function loadShedder(options: LoadShedderOptions): LoadShedder {
  return new LoadShedder(options);
}
