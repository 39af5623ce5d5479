import type { Clock } from '../core/clock.js';
import { channels } from '../core/diagnostics.js';

/** The outcome of one `take`; the gateway maps it to `RateLimit-*` and `Retry-After` headers. */
export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Milliseconds until the key is back to its full allowance. */
  resetAfterMs: number;
  /** Milliseconds until a call of the same cost may succeed; 0 when allowed. */
  retryAfterMs: number;
}

export interface RateLimiter {
  readonly name: string;
  take(key: string, cost?: number): RateLimitDecision | Promise<RateLimitDecision>;
}

/**
 * The limiters' default: monotonic, so a wall-clock step (NTP, a VM resuming) can neither
 * refill every bucket at once nor lock callers out.
 */
export const monotonicClock: Clock = { now: () => performance.now() };

export function publishDecision(name: string, allowed: boolean): void {
  if (channels.rateLimit.hasSubscribers) channels.rateLimit.publish({ name, allowed });
}
