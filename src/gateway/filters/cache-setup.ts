import { InvalidArgumentError } from '../../core/errors.js';
import { requireInstalled } from '../../core/optional.js';
import { parseDuration, parseSize } from '../../core/units.js';
import { type CounterMetric, defineCounter } from '../../observe/index.js';
import { type CacheStore, MemoryCacheStore } from '../cache-store.js';
import type { CompileEnv } from '../compile.js';
import type { CacheConfig } from '../config.js';
import { openCacheRedis, RedisCacheStore } from '../redis-cache-store.js';

const DEFAULT_PREFIX = 'sluice:cache:';

/**
 * The route's store: its own share of this process's memory, or Redis. Routes naming the
 * same Redis URL and timeout share one client. Keys carry the route's name, so routes
 * never see each other's entries and gateways with the same configuration share theirs.
 */
export function cacheStoreFor(config: CacheConfig, env: CompileEnv, routeName: string): CacheStore {
  const maxVariants = config.maxVariants ?? 8;
  if (config.store === undefined) {
    return new MemoryCacheStore(parseSize(config.maxBytes ?? '64mb'), maxVariants);
  }
  const url = config.store;
  const where = `route "${routeName}": cache`;
  if (!/^rediss?:\/\//.test(url)) {
    throw new InvalidArgumentError(`${where}.store must be a redis:// or rediss:// URL`);
  }
  if (config.maxBytes !== undefined) {
    throw new InvalidArgumentError(
      `${where}.maxBytes bounds the in-memory cache; with a Redis store, Redis's maxmemory bounds it`,
    );
  }
  requireInstalled('ioredis', 'a Redis cache store');
  const timeoutMs = parseDuration(config.storeTimeout ?? '100ms');
  const { client } = env.memo(`cache-redis ${timeoutMs} ${url}`, () => {
    const opened = openCacheRedis(url, timeoutMs);
    env.closers.push(opened.close);
    return opened;
  });
  const prefix = `${config.keyPrefix ?? DEFAULT_PREFIX}${routeName}:`;
  return new RedisCacheStore(client, prefix, maxVariants);
}

/** Store failures by route and operation; null when the configuration turns metrics off. */
export function storeErrorCounter(env: CompileEnv): CounterMetric<'route' | 'operation'> | null {
  if (env.config.metrics === false) return null;
  return defineCounter({
    name: 'sluice_gateway_cache_store_errors_total',
    help: 'Cache store reads and writes that failed or timed out; the request went upstream.',
    labelNames: ['route', 'operation'],
    labelValues: { operation: ['read', 'write'] },
    maxSeries: 600,
    ...(env.registry === undefined ? {} : { registry: env.registry }),
  });
}
