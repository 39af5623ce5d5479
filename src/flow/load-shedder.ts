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
 * free slot and the rate limiter allows it, and otherwise rejects at once with
 * LoadShedError / RateLimitedError carrying `retryAfter` (ms). It never queues. The slot is
 * released with the outcome of the work, which is what an adaptive limit learns from.
 * `wrap(retry, loadShedder(...), timeout)` composes it like any other policy.
 */
export class LoadShedder extends PolicyBase {
  readonly name: string;
  readonly #limiter: RateLimiter | undefined;
  readonly #concurrency: ConcurrencyLimit | undefined;
  readonly #retryAfterMs: number;
  readonly #classify: (error: unknown) => FailureOutcome;
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
  }

  stats(): LoadShedderStats {
    const limit = this.#concurrency;
    return {
      limit: limit === undefined ? null : limit.limit,
      inflight: limit === undefined ? null : limit.inflight,
      shed: this.#shed,
    };
  }

  /**
   * Admits one call or throws LoadShedError / RateLimitedError. Release the token when the
   * call ends. For callers that admit per key (`execute` uses the key `'global'`).
   */
  async acquire(admit: AdmitOptions = {}): Promise<LimitToken> {
    if (admit.signal?.aborted) throw new AbortedError(undefined, { cause: admit.signal.reason });
    const token = this.#slot();
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
      if (!allowed) token.ignore();
    }
    return token;
  }

  [runIn]<T>(fn: Work<T>, context: ExecutionContext): Promise<T> {
    if (context.aborted) return Promise.reject(context.abortError());
    if (this.#limiter !== undefined) {
      return this.acquire().then((token) => this.#run(token, fn, context));
    }
    let token: LimitToken;
    try {
      token = this.#slot();
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#run(token, fn, context);
  }

  /**
   * `execute` for work that takes no signal, without the execution context `execute` builds
   * per call: admits at once or rejects with LoadShedError, and releases the slot with the
   * work's outcome. The gateway's default limit runs every request through this.
   */
  call<T>(fn: () => T | PromiseLike<T>): Promise<T> {
    if (this.#limiter !== undefined) return this.execute(() => fn());
    let token: LimitToken;
    let work: Promise<T>;
    try {
      token = this.#slot();
    } catch (error) {
      return Promise.reject(error);
    }
    try {
      work = Promise.resolve(fn());
    } catch (error) {
      work = Promise.reject(error);
    }
    return this.#released(token, work);
  }

  #run<T>(token: LimitToken, fn: Work<T>, context: ExecutionContext): Promise<T> {
    return this.#released(token, invoke(fn, context));
  }

  #released<T>(token: LimitToken, work: Promise<T>): Promise<T> {
    return work.then(
      (value) => {
        token.success();
        return value;
      },
      (error: unknown) => {
        token[this.#classify(error)]();
        throw error;
      },
    );
  }

  #slot(): LimitToken {
    const concurrency = this.#concurrency;
    if (concurrency === undefined) return NO_TOKEN;
    const token = concurrency.tryAcquire();
    if (token !== undefined) return token;
    this.#refused(this.#retryAfterMs);
    throw new LoadShedError(`"${this.name}": ${concurrency.limit} calls already in flight`, {
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
