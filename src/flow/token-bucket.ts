import type { Clock } from '../core/clock.js';
import { positive } from './limiter-options.js';
import { type LocalRateLimiter, localLimiter } from './local-limiter.js';

export type { LocalRateLimiter } from './local-limiter.js';

export interface TokenBucketOptions {
  name?: string;
  /** Tokens a full bucket holds: the largest burst. */
  capacity: number;
  refillPerSecond: number;
  clock?: Clock;
  /** Most keys tracked at once; idle keys are dropped first. Default 100,000. */
  maxKeys?: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
  idleAt: number;
}

export function tokenBucket(options: TokenBucketOptions): LocalRateLimiter {
  const capacity = positive('capacity', options.capacity);
  const perMs = positive('refillPerSecond', options.refillPerSecond) / 1000;
  return localLimiter<Bucket>(options.name ?? 'default', options, {
    most: capacity,
    fresh: (now) => ({ tokens: capacity, updatedAt: now, idleAt: now }),
    take: (bucket, now, cost) => {
      if (now > bucket.updatedAt) {
        bucket.tokens = Math.min(capacity, bucket.tokens + (now - bucket.updatedAt) * perMs);
        bucket.updatedAt = now;
      }
      const allowed = bucket.tokens >= cost;
      if (allowed) {
        bucket.tokens -= cost;
        bucket.idleAt = now + (capacity - bucket.tokens) / perMs;
      }
      return {
        allowed,
        limit: capacity,
        remaining: Math.floor(bucket.tokens),
        resetAfterMs: Math.ceil((capacity - bucket.tokens) / perMs),
        retryAfterMs: allowed ? 0 : Math.ceil((cost - bucket.tokens) / perMs),
      };
    },
  });
}
