import type { Freshness } from './cache-freshness.js';

/** A stored response. */
export interface CacheEntry {
  status: number;
  /** The response's end-to-end header fields as stored (RFC 9111 section 3.1). */
  headers: Record<string, string | string[]>;
  body: Buffer;
  /** Which variant of its key this is (see `variantOf`). */
  variant: string;
  size: number;
  /** When the response (or its last revalidation) arrived, ms since the epoch. */
  responseTime: number;
  /** Its age in seconds when it arrived (RFC 9111 section 4.2.3). */
  initialAge: number;
  freshness: Freshness;
}

/**
 * Where the cache filter keeps responses. A key (origin as the upstream sees it, path and
 * query; see cache-key.ts) holds at most one entry per variant and a bounded number of
 * variants; a request uses the one whose variant its `Vary` headers name. The memory store
 * answers synchronously, so a hit from memory never waits on a promise; the Redis store
 * answers with promises, which reject when Redis fails or is too slow.
 */
export interface CacheStore {
  variants(key: string): readonly CacheEntry[] | Promise<readonly CacheEntry[]>;
  /** Stores `entry`, replacing the entry of the same variant; false if it was not kept. */
  put(key: string, entry: CacheEntry): boolean | Promise<boolean>;
  /** Drops every variant of `key` (RFC 9111 section 4.4). */
  delete(key: string): void | Promise<void>;
}

/** Cached responses in this process under a byte bound, least recently used evicted first. */
export class MemoryCacheStore implements CacheStore {
  readonly #entries = new Map<string, CacheEntry[]>();
  #bytes = 0;

  constructor(
    readonly maxBytes: number,
    readonly maxVariants = 8,
  ) {}

  get bytes(): number {
    return this.#bytes;
  }

  get keys(): number {
    return this.#entries.size;
  }

  variants(key: string): readonly CacheEntry[] {
    const list = this.#entries.get(key);
    if (list === undefined) return [];
    this.#entries.delete(key);
    this.#entries.set(key, list);
    return list;
  }

  put(key: string, entry: CacheEntry): boolean {
    if (entry.size > this.maxBytes) return false;
    const list = this.#entries.get(key) ?? [];
    const old = list.findIndex((e) => e.variant === entry.variant);
    if (old >= 0) {
      this.#bytes -= list[old]!.size;
      list.splice(old, 1);
    }
    if (list.length >= this.maxVariants) this.#bytes -= list.shift()!.size;
    list.push(entry);
    this.#bytes += entry.size;
    this.#entries.delete(key);
    this.#entries.set(key, list);
    this.#evict();
    return true;
  }

  delete(key: string): void {
    const list = this.#entries.get(key);
    if (list === undefined) return;
    for (const e of list) this.#bytes -= e.size;
    this.#entries.delete(key);
  }

  #evict(): void {
    for (const [key, list] of this.#entries) {
      if (this.#bytes <= this.maxBytes) return;
      for (const e of list) this.#bytes -= e.size;
      this.#entries.delete(key);
    }
  }
}
