import type { Counter, Histogram } from 'prom-client';

/**
 * prom-client's record of one series, in its `hashMap`. Each `inc` or `observe` otherwise
 * validates the labels and hashes them into that map's key again: on a gateway, once per
 * response for labels that never change. The fields read here are prom-client 15's.
 */
interface SeriesRecord {
  labels: object;
  value: number;
  sum: number;
  count: number;
  bucketValues: Record<number, number>;
}

interface Internals {
  hashMap: Record<string, SeriesRecord | undefined>;
  upperBounds?: readonly number[];
}

/**
 * The record of one bound series, found once and trusted while prom-client still holds it
 * under the same key for the same labels object: `reset()` and `remove()` replace the map or
 * drop the record, and labels resolved afresh (a fold, a forgotten series) are another
 * object, so every such change falls back to prom-client's own path and is looked up again.
 */
class SeriesCache {
  readonly #metric: Internals;
  #labels: object | undefined;
  #key = '';
  #record: SeriesRecord | undefined;
  #lastSeen: object | undefined;

  constructor(metric: object) {
    this.#metric = metric as Internals;
  }

  get(labels: object): SeriesRecord | undefined {
    if (labels !== this.#labels) return undefined;
    const record = this.#metric.hashMap[this.#key];
    return record === this.#record ? record : undefined;
  }

  /**
   * After prom-client recorded `labels`: looks its record up, on the second call with the
   * same labels object only (labels that fold are a new object each time, never looked up).
   */
  recorded(labels: object): void {
    const seenBefore = labels === this.#lastSeen;
    this.#lastSeen = labels;
    if (!seenBefore) return;
    this.#labels = undefined;
    for (const [key, record] of Object.entries(this.#metric.hashMap)) {
      if (record?.labels !== labels) continue;
      this.#labels = labels;
      this.#key = key;
      this.#record = record;
      return;
    }
  }
}

/** `counter.inc(labels(), value)`, without hashing labels that stay the same. */
export function boundInc<L extends string>(
  counter: Counter<L>,
  labels: () => Record<L, string>,
): (value?: number) => void {
  const cache = new SeriesCache(counter);
  return (value = 1) => {
    const current = labels();
    const record = cache.get(current);
    // Anything prom-client would refuse or treat apart (negative, not finite) takes its path.
    if (record !== undefined && value >= 0 && Number.isFinite(value)) {
      record.value += value;
      return;
    }
    counter.inc(current, value);
    cache.recorded(current);
  };
}

/** `histogram.observe(labels(), value)`, without hashing labels that stay the same. */
export function boundObserve<L extends string>(
  histogram: Histogram<L>,
  labels: () => Record<L, string>,
): (value: number) => void {
  const cache = new SeriesCache(histogram);
  const bounds = (histogram as unknown as Internals).upperBounds ?? [];
  return (value) => {
    const current = labels();
    const record = cache.get(current);
    if (record === undefined || !Number.isFinite(value)) {
      histogram.observe(current, value);
      cache.recorded(current);
      return;
    }
    record.sum += value;
    record.count += 1;
    // The first bucket that holds the value; above the last, only the count (+Inf) grows.
    for (const bound of bounds) {
      if (value <= bound) {
        if (Object.hasOwn(record.bucketValues, bound)) record.bucketValues[bound]! += 1;
        return;
      }
    }
  };
}
