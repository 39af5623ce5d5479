import type { Clock } from '../core/clock.js';
import { positive } from './limiter-options.js';
import { type LocalRateLimiter, localLimiter } from './local-limiter.js';

const EPSILON_MS = 1e-6;

export interface GcraOptions {
  name?: string;
  /** Calls admitted per `periodMs` in the long run. */
  limit: number;
  periodMs: number;
  /** Calls admitted back to back from idle. Default `limit`. */
  burst?: number;
  clock?: Clock;
  maxKeys?: number;
}

interface Cell {
  /** Theoretical arrival time: when the key's allowance is fully restored. */
  tat: number;
  idleAt: number;
}

/**
 * Generic cell rate algorithm: one number per key. Each call of cost c pushes the
 * theoretical arrival time (TAT) c emission intervals later; a call is admitted while the
 * TAT stays within `burst` intervals of now.
 */
export function gcra(options: GcraOptions): LocalRateLimiter {
  const limit = positive('limit', options.limit);
  const interval = positive('periodMs', options.periodMs) / limit;
  const burst = positive('burst', options.burst ?? limit);
  const tolerance = interval * burst;
  return localLimiter<Cell>(options.name ?? 'default', options, {
    most: burst,
    fresh: (now) => ({ tat: now, idleAt: now }),
    take: (cell, now, cost) => {
      const base = Math.max(cell.tat, now);
      const next = base + interval * cost;
      // Clock readings are fractional: compare with a nanosecond of slack so a take that fits
      // exactly is not refused for a rounding error in the last bit.
      const allowed = next - tolerance - now <= EPSILON_MS;
      if (allowed) {
        cell.tat = next;
        cell.idleAt = next;
      }
      const tat = allowed ? next : base;
      return {
        allowed,
        limit: burst,
        remaining: Math.max(0, Math.floor((tolerance - (tat - now)) / interval + 1e-9)),
        resetAfterMs: Math.ceil(tat - now),
        retryAfterMs: allowed ? 0 : Math.ceil(next - tolerance - now - EPSILON_MS),
      };
    },
  });
}
