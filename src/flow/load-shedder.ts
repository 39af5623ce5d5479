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

export interface LoadShedder {
  readonly name: string;
  /**
   * Admits a call or throws LoadShedError / RateLimitedError carrying `retryAfter` (ms).
   * Release the token when the call ends.
   */
  acquire(options?: AdmitOptions): Promise<LimitToken>;
  /** Acquires, runs `fn` with the signal, and releases with the outcome of the call. */
  run<T>(fn: (signal?: AbortSignal) => T | Promise<T>, options?: AdmitOptions): Promise<T>;
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

export function loadShedder(options: LoadShedderOptions): LoadShedder {
  const { limiter, concurrencyLimit } = options;
  if (limiter === undefined && concurrencyLimit === undefined) {
    throw new InvalidArgumentError('loadShedder needs a `limiter` or a `concurrencyLimit`');
  }
  const name = options.name ?? 'default';
  const retryAfterMs = positive('retryAfterMs', options.retryAfterMs ?? 1_000);
  const classify = options.classify ?? defaultClassify;

  const shed = (retryAfter: number): void => {
    if (channels.shed.hasSubscribers) channels.shed.publish({ name, retryAfterMs: retryAfter });
  };

  const acquire = async (admit: AdmitOptions = {}): Promise<LimitToken> => {
    if (admit.signal?.aborted) throw new AbortedError(undefined, { cause: admit.signal.reason });
    let token = NO_TOKEN;
    if (concurrencyLimit !== undefined) {
      const acquired = concurrencyLimit.tryAcquire();
      if (acquired === undefined) {
        shed(retryAfterMs);
        throw new LoadShedError(`"${name}": ${concurrencyLimit.limit} calls already in flight`, {
          retryAfter: retryAfterMs,
        });
      }
      token = acquired;
    }
    if (limiter === undefined) return token;
    let allowed = false;
    try {
      const decision = await limiter.take(admit.key ?? 'global', admit.cost);
      allowed = decision.allowed;
      if (!allowed) {
        shed(decision.retryAfterMs);
        throw new RateLimitedError(`"${name}": rate limit of ${decision.limit} exceeded`, {
          retryAfter: decision.retryAfterMs,
        });
      }
    } finally {
      if (!allowed) token.ignore();
    }
    return token;
  };

  return {
    name,
    acquire,
    async run<T>(fn: (signal?: AbortSignal) => T | Promise<T>, admit: AdmitOptions = {}) {
      const token = await acquire(admit);
      let result: T;
      try {
        result = await fn(admit.signal);
      } catch (error) {
        token[classify(error)]();
        throw error;
      }
      token.success();
      return result;
    },
  };
}
