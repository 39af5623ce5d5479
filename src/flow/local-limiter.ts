import type { Clock } from '../core/clock.js';
import { type KeyedState, KeyTable } from './key-table.js';
import { checkCost, DEFAULT_MAX_KEYS } from './limiter-options.js';
import {
  monotonicClock,
  publishDecision,
  type RateLimitDecision,
  type RateLimiter,
} from './rate-limiter.js';

export interface LocalRateLimiter extends RateLimiter {
  take(key: string, cost?: number): RateLimitDecision;
  /** Keys currently tracked. */
  readonly size: number;
  clear(): void;
}

/** How one algorithm keeps a key's state: a fresh state, and one take against it. */
export interface LimiterCells<S extends KeyedState> {
  /** The largest cost one take may ask for. */
  readonly most: number;
  fresh(now: number): S;
  take(state: S, now: number, cost: number): RateLimitDecision;
}

/**
 * A rate limiter in this process: one state per key in a bounded KeyTable, the cost
 * checked and the decision published the same way whatever the algorithm.
 */
export function localLimiter<S extends KeyedState>(
  name: string,
  options: { clock?: Clock | undefined; maxKeys?: number | undefined },
  cells: LimiterCells<S>,
): LocalRateLimiter {
  const clock = options.clock ?? monotonicClock;
  const table = new KeyTable<S>(options.maxKeys ?? DEFAULT_MAX_KEYS);

  const take = (key: string, cost = 1): RateLimitDecision => {
    checkCost(name, cost, cells.most);
    const now = clock.now();
    let state = table.get(key);
    if (state === undefined) {
      state = cells.fresh(now);
      table.add(key, state, now);
    }
    const decision = cells.take(state, now, cost);
    publishDecision(name, decision.allowed);
    return decision;
  };

  return {
    name,
    take,
    get size() {
      return table.size;
    },
    clear: () => table.clear(),
  };
}
