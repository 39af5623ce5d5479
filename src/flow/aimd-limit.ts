import {
  type ConcurrencyLimit,
  type ConcurrencyLimitOptions,
  concurrencyLimit,
  type LimitAlgorithm,
  type LimitSample,
} from './concurrency-limit.js';
import { fraction, limitBounds } from './limit-bounds.js';

export interface AimdLimitOptions extends ConcurrencyLimitOptions {
  initial?: number;
  min?: number;
  max?: number;
  /** Multiplier applied on a drop or a slow call. Default 0.9. */
  backoffRatio?: number;
  /** A call slower than this counts as a drop. Default 5,000 ms. */
  slowCallMs?: number;
}

/**
 * Additive increase, multiplicative decrease: +1 per successful call while at least half
 * the limit is in use (an idle service proves nothing about its capacity), times
 * `backoffRatio` on each drop or slow call.
 */
export function aimdAlgorithm(options: AimdLimitOptions = {}): LimitAlgorithm {
  const { initial, min, max } = limitBounds(options, { initial: 20, min: 1, max: 200 });
  const backoffRatio = fraction('backoffRatio', options.backoffRatio ?? 0.9);
  const slowCallMs = options.slowCallMs ?? 5_000;
  let limit = initial;
  return {
    initial,
    update({ rttMs, inflight, dropped }: LimitSample): number {
      if (dropped || rttMs > slowCallMs) limit = Math.max(min, Math.floor(limit * backoffRatio));
      else if (inflight * 2 >= limit) limit = Math.min(max, limit + 1);
      return limit;
    },
  };
}

export function aimdLimit(options: AimdLimitOptions = {}): ConcurrencyLimit {
  return concurrencyLimit(aimdAlgorithm(options), options);
}
