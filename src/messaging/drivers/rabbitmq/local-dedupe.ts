import type { OutgoingRecord } from '../../driver.js';

/** Ids remembered per target at most; the oldest are forgotten first past this. */
const maxIds = 1_000_000;

/**
 * RabbitMQ has no producer de-duplication, so this is opt-in and scoped to one driver
 * instance: a repeated id published through the same driver inside the window (a retrying
 * producer, an outbox relay) stores nothing new. Producers in other processes are not seen.
 */
export class LocalDedupe {
  readonly #ids = new Map<string, Map<string, number>>();

  /** Claims each fresh id at once (so a concurrent repeat is a duplicate); true = duplicate. */
  claim(target: string, records: readonly OutgoingRecord[], windowMs: number): boolean[] {
    const now = Date.now();
    const ids = this.#for(target, now);
    const seen = records.map((r) => {
      if (!r.dedupe || windowMs <= 0) return false;
      const expires = ids.get(r.id);
      return expires !== undefined && expires > now;
    });
    records.forEach((r, i) => {
      if (!r.dedupe || windowMs <= 0 || seen[i]) return;
      ids.delete(r.id);
      ids.set(r.id, now + windowMs);
    });
    while (ids.size > maxIds) ids.delete(ids.keys().next().value as string);
    return seen;
  }

  /** A publish failed: its ids may be published again. */
  forget(target: string, records: readonly OutgoingRecord[]): void {
    const ids = this.#ids.get(target);
    for (const r of records) ids?.delete(r.id);
  }

  #for(target: string, now: number): Map<string, number> {
    let ids = this.#ids.get(target);
    if (ids === undefined) {
      ids = new Map();
      this.#ids.set(target, ids);
    }
    // Insertion order is expiry order for one window length: sweep from the front.
    for (const [id, at] of ids) {
      if (at > now) break;
      ids.delete(id);
    }
    return ids;
  }
}
