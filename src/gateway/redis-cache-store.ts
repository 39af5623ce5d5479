import type { Redis } from 'ioredis';
import { EngineUnavailableError } from '../core/errors.js';
import { loadOptional } from '../core/optional.js';
import { decodeEntry, encodeEntry } from './cache-codec.js';
import { timeToLive } from './cache-entry.js';
import type { CacheEntry, CacheStore } from './cache-store.js';

/**
 * Stores one variant in the hash KEYS[1], whose companion sorted set KEYS[1]..':ttl' holds
 * each variant's expiry time (server clock, ms). Variants past their time to live go first,
 * then the ones expiring soonest while the key would hold more than the bound; both keys
 * expire with their last variant, so Redis drops what no request can use any more.
 * ARGV: variant, entry, time to live (ms), most variants.
 */
const PUT_SCRIPT = `
if redis.replicate_commands then redis.replicate_commands() end
local index = KEYS[1] .. ':ttl'
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local variant, ttl, most = ARGV[1], tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREM', index, variant)
local gone = redis.call('ZRANGEBYSCORE', index, '-inf', string.format('%.0f', now))
local over = redis.call('ZCARD', index) - #gone - (most - 1)
if over > 0 then
  local soonest = redis.call('ZRANGEBYSCORE', index, string.format('(%.0f', now), '+inf', 'LIMIT', 0, over)
  for _, v in ipairs(soonest) do gone[#gone + 1] = v end
end
for _, v in ipairs(gone) do
  redis.call('HDEL', KEYS[1], v)
  redis.call('ZREM', index, v)
end
redis.call('HSET', KEYS[1], variant, ARGV[2])
redis.call('ZADD', index, string.format('%.0f', now + ttl), variant)
local last = tonumber(redis.call('ZRANGE', index, -1, -1, 'WITHSCORES')[2])
redis.call('PEXPIRE', KEYS[1], string.format('%.0f', last - now))
redis.call('PEXPIRE', index, string.format('%.0f', last - now))
return 1
`;

type CacheRedis = Redis & {
  sluiceCachePut(
    key: string,
    variant: string,
    entry: Buffer,
    ttlMs: number,
    most: number,
  ): Promise<unknown>;
};

/** Connection states in which a command could only wait for its timeout. */
const DOWN = new Set(['reconnecting', 'close', 'end']);

/**
 * One Redis client for the cache stores of a configuration. Commands fail after `timeoutMs`,
 * and at once while the connection is down (nothing queues for a reconnect), so an outage
 * costs a request no more than the timeout and usually nothing.
 */
export function openCacheRedis(
  url: string,
  timeoutMs: number,
): { client: Promise<CacheRedis>; close(): Promise<void> } {
  const client = loadOptional('ioredis', 'a Redis cache store', () => import('ioredis')).then(
    ({ Redis }) => {
      const redis = new Redis(url, {
        commandTimeout: timeoutMs,
        connectTimeout: Math.max(timeoutMs, 1_000),
        maxRetriesPerRequest: 0,
        autoResendUnfulfilledCommands: false,
      });
      // Failures reach callers through the commands that fail; unheard, ioredis logs them.
      redis.on('error', () => {});
      redis.defineCommand('sluiceCachePut', { numberOfKeys: 1, lua: PUT_SCRIPT });
      return redis as CacheRedis;
    },
  );
  client.catch(() => undefined);
  return {
    client,
    close: async () => {
      const redis = await client.catch(() => undefined);
      redis?.disconnect();
    },
  };
}

/**
 * Cached responses in Redis, shared by every gateway process using the same prefix. A key
 * is a hash of its variants (see PUT_SCRIPT); Redis's maxmemory bounds the bytes.
 */
export class RedisCacheStore implements CacheStore {
  readonly #client: Promise<CacheRedis>;
  #redis: CacheRedis | undefined;

  constructor(
    client: Promise<CacheRedis>,
    /** Start of every key, e.g. `sluice:cache:products:`. */
    readonly keyPrefix: string,
    readonly maxVariants = 8,
  ) {
    this.#client = client;
  }

  async variants(key: string): Promise<readonly CacheEntry[]> {
    const redis = await this.#connected();
    const stored = await redis.hgetallBuffer(this.#key(key));
    const entries: CacheEntry[] = [];
    for (const [variant, data] of Object.entries(stored)) {
      const entry = decodeEntry(variant, data);
      if (entry !== null) entries.push(entry);
    }
    return entries;
  }

  /** Keeps nothing that no request could use: an entry already past its time to live. */
  async put(key: string, entry: CacheEntry): Promise<boolean> {
    const ttlMs = Math.floor(timeToLive(entry, Date.now()) * 1000);
    if (ttlMs <= 0) return false;
    const redis = await this.#connected();
    await redis.sluiceCachePut(
      this.#key(key),
      entry.variant,
      encodeEntry(entry),
      ttlMs,
      this.maxVariants,
    );
    return true;
  }

  async delete(key: string): Promise<void> {
    const redis = await this.#connected();
    const k = this.#key(key);
    await redis.del(k, `${k}:ttl`);
  }

  // The braces make a Redis Cluster hash tag, so the hash and its ':ttl' index share a slot.
  #key(key: string): string {
    return `${this.keyPrefix}{${key}}`;
  }

  async #connected(): Promise<CacheRedis> {
    this.#redis ??= await this.#client;
    if (DOWN.has(this.#redis.status)) {
      throw new EngineUnavailableError(
        `Redis cache store: the connection is ${this.#redis.status}`,
      );
    }
    return this.#redis;
  }
}
