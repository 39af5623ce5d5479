import { InvalidArgumentError } from '../core/errors.js';
import {
  type ConcurrencyLimit,
  type ConcurrencyLimitOptions,
  concurrencyLimit,
  type LimitAlgorithm,
  type LimitSample,
} from './concurrency-limit.js';
import { fraction, limitBounds } from './limit-bounds.js';

export interface GradientLimitOptions extends ConcurrencyLimitOptions {
  initial?: number;
  min?: number;
  max?: number;
  /** Weight of each new estimate (0..1). Default 0.2. */
  smoothing?: number;
  /** Latency up to this multiple of the no-load RTT is not queueing. Default 1.5. */
  rttTolerance?: number;
  /** Headroom added to the estimate so the limit can grow. Default `sqrt(limit)`. */
  queueSize?: (limit: number) => number;
  /** Samples over which the no-load RTT (a minimum) is remembered. Default 500. */
  rttWindow?: number;
}

/**
 * Gradient limit: the ratio of the no-load RTT to the latest RTT estimates how much of the
 * current limit is queueing. new = limit × gradient + queueSize, with the gradient in
 * [0.5, 1] and the result smoothed. A drop counts as the steepest gradient.
 *
 * The no-load RTT is the minimum over the last one to two windows of samples (two
 * alternating minima), so it follows a dependency that became permanently slower instead
 * of pinning the limit at its floor forever.
 */
export function gradientAlgorithm(options: GradientLimitOptions = {}): LimitAlgorithm {
  const { initial, min, max } = limitBounds(options, { initial: 20, min: 1, max: 200 });
  const smoothing = options.smoothing === 1 ? 1 : fraction('smoothing', options.smoothing ?? 0.2);
  const tolerance = options.rttTolerance ?? 1.5;
  if (!(tolerance >= 1)) {
    throw new InvalidArgumentError(`rttTolerance must be >= 1, got ${tolerance}`);
  }
  const queueSize = options.queueSize ?? Math.sqrt;
  const window = options.rttWindow ?? 500;
  let limit = initial;
  let previousMin = Number.POSITIVE_INFINITY;
  let currentMin = Number.POSITIVE_INFINITY;
  let seen = 0;

  return {
    initial,
    update({ rttMs, inflight, dropped }: LimitSample): number {
      const rtt = Math.max(rttMs, 1e-3);
      if (rtt < currentMin) currentMin = rtt;
      if (++seen >= window) {
        previousMin = currentMin;
        currentMin = Number.POSITIVE_INFINITY;
        seen = 0;
      }
      const noLoad = Math.min(previousMin, currentMin, rtt);
      const gradient = dropped ? 0.5 : Math.max(0.5, Math.min(1, (tolerance * noLoad) / rtt));
      const estimate = limit * gradient + queueSize(limit);
      // Growing on samples from a mostly idle limiter would raise it without evidence.
      if (estimate > limit && inflight * 2 < limit) return limit;
      limit = limit * (1 - smoothing) + estimate * smoothing;
      limit = Math.min(max, Math.max(min, limit));
      return limit;
    },
  };
}

export function gradientLimit(options: GradientLimitOptions = {}): ConcurrencyLimit {
  return concurrencyLimit(gradientAlgorithm(options), options);
}
