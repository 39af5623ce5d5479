import type CachePolicy from 'http-cache-semantics';

export interface CacheEntry {
  policy: CachePolicy;
  status: number;
  body: Buffer;
  size: number;
}

/**
 * Cached responses under a byte bound, least recently used evicted first. A key holds
 * several entries when the upstream varies its answer (Vary); the policy of each entry
 * decides which one a request may use.
 */
export class CacheStore {
  readonly #entries = new Map<string, CacheEntry[]>();
  #bytes = 0;
  hits = 0;
  misses = 0;

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

  /** Stores `entry`, replacing `replaces` (the variant it renews) if given. */
  put(key: string, entry: CacheEntry, replaces?: CacheEntry): void {
    if (entry.size > this.maxBytes) return;
    const list = this.#entries.get(key) ?? [];
    const old = replaces ? list.indexOf(replaces) : -1;
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
  }

  #evict(): void {
    for (const [key, list] of this.#entries) {
      if (this.#bytes <= this.maxBytes) return;
      for (const e of list) this.#bytes -= e.size;
      this.#entries.delete(key);
    }
  }
}
