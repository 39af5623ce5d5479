import { channels } from '../core/diagnostics.js';
import { InvalidArgumentError, LimiterUnavailableError } from '../core/errors.js';
import { requireInstalled } from '../core/optional.js';
import { withTimeout } from '../core/time-limit.js';
import { checkCost, positive } from './limiter-options.js';
import { publishDecision, type RateLimitDecision, type RateLimiter } from './rate-limiter.js';
import { GCRA_SCRIPT, GCRA_SHA } from './redis-gcra-script.js';

/** The part of an ioredis client the limiter uses; an ioredis `Redis` fits. */
export interface RedisScriptClient {
  evalsha(sha: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
}

/**
 * What a take does when Redis fails or answers too late: admit (`fail-open`, keeps the
 * service up when the limiter's store is down), deny (`fail-closed`), or reject with
 * LimiterUnavailableError (`throw`). Every such failure is published on
 * `channels.limiterStoreError`.
 */
export type StoreErrorMode = 'fail-open' | 'fail-closed' | 'throw';

export interface RedisGcraOptions {
  name?: string;
  /** A connected client to share; the limiter never closes it. */
  redis?: RedisScriptClient;
  /** Used when `redis` is not given; needs the optional peer `ioredis`. */
  url?: string;
  limit: number;
  periodMs: number;
  burst?: number;
  /** Default `sluice:rl:<name>:`. */
  keyPrefix?: string;
  onStoreError?: StoreErrorMode;
  /** Longest wait for Redis before the store-error mode applies. Default 100 ms. */
  timeoutMs?: number;
}

export interface RedisGcraLimiter extends RateLimiter {
  take(key: string, cost?: number): Promise<RateLimitDecision>;
  /** Takes that met a store error or timeout since creation. */
  readonly storeErrors: number;
  /** Disconnects the client the limiter created; a shared client is left alone. */
  close(): Promise<void>;
}

const DEFAULT_URL = 'redis://127.0.0.1:6379';
const MODES: readonly StoreErrorMode[] = ['fail-open', 'fail-closed', 'throw'];

export function redisGcra(options: RedisGcraOptions): RedisGcraLimiter {
  const name = options.name ?? 'default';
  const limit = positive('limit', options.limit);
  const intervalUs = (positive('periodMs', options.periodMs) * 1000) / limit;
  const burst = positive('burst', options.burst ?? limit);
  const toleranceUs = intervalUs * burst;
  const keyPrefix = options.keyPrefix ?? `sluice:rl:${name}:`;
  const mode = options.onStoreError ?? 'fail-open';
  const timeoutMs = positive('timeoutMs', options.timeoutMs ?? 100);
  if (!MODES.includes(mode)) {
    throw new InvalidArgumentError(`onStoreError must be one of ${MODES.join(', ')}, got ${mode}`);
  }
  if (options.redis !== undefined && options.url !== undefined) {
    throw new InvalidArgumentError('redisGcra: give either `redis` or `url`, not both');
  }
  let storeErrors = 0;
  let owned: { disconnect(): void } | undefined;
  let client: RedisScriptClient | Promise<RedisScriptClient>;
  if (options.redis !== undefined) {
    client = options.redis;
  } else {
    requireInstalled('ioredis', 'redisGcra without a `redis` client');
    client = import('ioredis').then(({ Redis }) => {
      const redis = new Redis(options.url ?? DEFAULT_URL, {
        maxRetriesPerRequest: 1,
        commandTimeout: timeoutMs,
        connectTimeout: Math.max(timeoutMs, 1_000),
      });
      // Failures reach callers through each take; without a listener ioredis logs them.
      redis.on('error', () => {});
      owned = redis;
      client = redis;
      return redis;
    });
    client.catch(() => undefined);
  }

  const run = async (key: string, cost: number): Promise<unknown> => {
    const redis = await client;
    const args = [keyPrefix + key, intervalUs, toleranceUs, cost];
    try {
      return await redis.evalsha(GCRA_SHA, 1, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return await redis.eval(GCRA_SCRIPT, 1, ...args);
    }
  };

  const storeFailed = (error: unknown, cost: number): RateLimitDecision => {
    storeErrors++;
    const failOpen = mode === 'fail-open';
    if (channels.limiterStoreError.hasSubscribers) {
      channels.limiterStoreError.publish({ name, error, failOpen });
    }
    if (mode === 'throw') {
      throw new LimiterUnavailableError(`rate limiter "${name}": Redis is unavailable`, {
        cause: error,
        retryAfter: Math.ceil(intervalUs / 1000),
      });
    }
    publishDecision(name, failOpen);
    const retryAfterMs = failOpen ? 0 : Math.max(1, Math.ceil((intervalUs * cost) / 1000));
    return { allowed: failOpen, limit: burst, remaining: 0, resetAfterMs: 0, retryAfterMs };
  };

  return {
    name,
    get storeErrors() {
      return storeErrors;
    },
    async take(key: string, cost = 1): Promise<RateLimitDecision> {
      checkCost(name, cost, burst);
      let reply: unknown;
      try {
        reply = await withTimeout(run(key, cost), timeoutMs);
      } catch (error) {
        return storeFailed(error, cost);
      }
      if (!isReply(reply)) return storeFailed(new Error('unexpected reply from Redis'), cost);
      const allowed = reply[0] === 1;
      publishDecision(name, allowed);
      return {
        allowed,
        limit: burst,
        remaining: Math.max(0, reply[1]),
        resetAfterMs: Math.ceil(reply[2] / 1000),
        retryAfterMs: allowed ? 0 : Math.max(1, Math.ceil(reply[3] / 1000)),
      };
    },
    async close(): Promise<void> {
      if (options.redis !== undefined) return;
      await Promise.resolve(client).catch(() => undefined);
      owned?.disconnect();
    },
  };
}

function isReply(value: unknown): value is [number, number, number, number] {
  return Array.isArray(value) && value.length === 4 && value.every((v) => typeof v === 'number');
}
