import { InvalidArgumentError } from '../core/errors.js';

/**
 * How long to wait before the next attempt. `attempt` is the 1-based attempt that just
 * failed; `previousDelayMs` is the delay chosen after the attempt before it (0 after the
 * first), which decorrelated jitter feeds back into itself.
 */
export type Backoff = (attempt: number, previousDelayMs: number) => number;

export interface ExponentialBackoffOptions {
  initialDelay?: number;
  maxDelay?: number;
  factor?: number;
  /** `'full'` picks uniformly in [0, delay] (AWS "full jitter"); `'none'` is deterministic. */
  jitter?: 'full' | 'none';
  /** Source of randomness in [0, 1); replace it in tests. */
  random?: () => number;
}

export interface DecorrelatedJitterBackoffOptions {
  initialDelay?: number;
  maxDelay?: number;
  random?: () => number;
}

function nonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new InvalidArgumentError(`${name} must be a finite number >= 0, got ${value}`);
  }
  return value;
}

export function constantBackoff(ms: number): Backoff {
  nonNegative('delay', ms);
  return () => ms;
}

export function exponentialBackoff(options: ExponentialBackoffOptions = {}): Backoff {
  const initial = nonNegative('initialDelay', options.initialDelay ?? 100);
  const max = nonNegative('maxDelay', options.maxDelay ?? 30_000);
  const factor = options.factor ?? 2;
  if (!(factor >= 1)) throw new InvalidArgumentError(`factor must be >= 1, got ${factor}`);
  const random = options.random ?? Math.random;
  const full = (options.jitter ?? 'full') === 'full';
  return (attempt) => {
    const delay = Math.min(max, initial * factor ** (attempt - 1));
    return full ? Math.floor(random() * (delay + 1)) : delay;
  };
}

/**
 * Each delay is drawn from [initialDelay, 3 × previous delay], capped: spreads clients
 * apart better than full jitter while still growing ("decorrelated jitter", AWS).
 */
export function decorrelatedJitterBackoff(options: DecorrelatedJitterBackoffOptions = {}): Backoff {
  const initial = nonNegative('initialDelay', options.initialDelay ?? 100);
  const max = nonNegative('maxDelay', options.maxDelay ?? 30_000);
  const random = options.random ?? Math.random;
  return (_attempt, previousDelayMs) => {
    const upper = Math.max(initial, previousDelayMs * 3);
    return Math.min(max, Math.floor(initial + random() * (upper - initial)));
  };
}
