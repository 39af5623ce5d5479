import { DuplicateMessageError } from '../errors.js';
import type { IdempotencyStore } from './idempotent.js';

export interface MemoryIdempotencyStoreOptions {
  /** How long a key is remembered. Default 24 h. */
  ttl?: number;
  /** Keys remembered at most; the oldest are forgotten first. Default 100,000. */
  maxKeys?: number;
}

/** In-process and not transactional: for tests and for handlers without a database. */
export function memoryIdempotencyStore(
  options: MemoryIdempotencyStoreOptions = {},
): IdempotencyStore {
  const ttl = options.ttl ?? 86_400_000;
  const maxKeys = options.maxKeys ?? 100_000;
  const keys = new Map<string, number>();
  const live = (key: string) => {
    const expires = keys.get(key);
    return expires !== undefined && expires > Date.now();
  };
  return {
    async has(key) {
      return live(key);
    },
    async transaction<R>(key: string, work: (tx: undefined) => R): Promise<Awaited<R>> {
      if (live(key)) throw new DuplicateMessageError(key);
      const result = await work(undefined);
      if (live(key)) throw new DuplicateMessageError(key);
      keys.delete(key);
      keys.set(key, Date.now() + ttl);
      for (const oldest of keys.keys()) {
        if (keys.size <= maxKeys) break;
        keys.delete(oldest);
      }
      return result;
    },
  };
}
