import type { Clock } from '../core/clock.js';
import { KeyTable } from './key-table.js';
import { checkCost, DEFAULT_MAX_KEYS, positive } from './limiter-options.js';
import {
  monotonicClock,
  publishDecision,
  type RateLimitDecision,
  type RateLimiter,
} from './rate-limiter.js';

export interface TokenBucketOptions {
  name?: string;
  /** Tokens a full bucket holds: the largest burst. */
  capacity: number;
  refillPerSecond: number;
  clock?: Clock;
  /** Most keys tracked at once; idle keys are dropped first. Default 100,000. */
  maxKeys?: number;
}

export interface LocalRateLimiter extends RateLimiter {
  take(key: string, cost?: number): RateLimitDecision;
  /** Keys currently tracked. */
  readonly size: number;
  clear(): void;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
  idleAt: number;
}

export function tokenBucket(options: TokenBucketOptions): LocalRateLimiter {
  const name = options.name ?? 'default';
  const capacity = positive('capacity', options.capacity);
  const perMs = positive('refillPerSecond', options.refillPerSecond) / 1000;
  const clock = options.clock ?? monotonicClock;
  const table = new KeyTable<Bucket>(options.maxKeys ?? DEFAULT_MAX_KEYS);

  const take = (key: string, cost = 1): RateLimitDecision => {
    checkCost(name, cost, capacity);
    const now = clock.now();
    let bucket = table.get(key);
    if (bucket === undefined) {
      bucket = { tokens: capacity, updatedAt: now, idleAt: now };
      table.add(key, bucket, now);
    } else if (now > bucket.updatedAt) {
      bucket.tokens = Math.min(capacity, bucket.tokens + (now - bucket.updatedAt) * perMs);
      bucket.updatedAt = now;
    }
    const allowed = bucket.tokens >= cost;
    if (allowed) {
      bucket.tokens -= cost;
      bucket.idleAt = now + (capacity - bucket.tokens) / perMs;
    }
    publishDecision(name, allowed);
    return {
      allowed,
      limit: capacity,
      remaining: Math.floor(bucket.tokens),
      resetAfterMs: Math.ceil((capacity - bucket.tokens) / perMs),
      retryAfterMs: allowed ? 0 : Math.ceil((cost - bucket.tokens) / perMs),
    };
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
