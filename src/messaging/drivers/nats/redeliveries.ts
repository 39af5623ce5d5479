const cap = 100_000;
/** The server redelivers a due nak within milliseconds; poll that fast for this long. */
const settleMs = 1000;
const repollMs = 5;

/**
 * What this process knows about messages it gave back. JetStream counts a nak'ed message as
 * "ack pending" until it is redelivered and counts every redelivery as a delivery; this
 * table lets stats() call such a message ready or delayed rather than in flight, and lets a
 * message released without being handled keep its attempt count. It sees only the naks made
 * by this process: one another process made shows as in flight until redelivered.
 */
export class Redeliveries {
  readonly #waiting = new Map<string, Map<number, number>>();
  readonly #uncounted = new Map<string, Map<number, number>>();

  /** The message `seq` was nak'ed and comes back at `dueAt`. */
  waiting(source: string, seq: number, dueAt: number): void {
    const map = bucket(this.#waiting, source);
    map.delete(seq);
    map.set(seq, dueAt);
    trim(map);
  }

  /** Its last delivery should not count as an attempt. */
  uncount(source: string, seq: number): void {
    const map = bucket(this.#uncounted, source);
    map.set(seq, (map.get(seq) ?? 0) + 1);
    trim(map);
  }

  /** It was delivered again: the attempt as handlers see it. */
  redelivered(source: string, seq: number, deliveryCount: number): number {
    this.#waiting.get(source)?.delete(seq);
    return Math.max(1, deliveryCount - (this.#uncounted.get(source)?.get(seq) ?? 0));
  }

  /** It left the queue (acked or dead-lettered). */
  done(source: string, seq: number): void {
    this.#waiting.get(source)?.delete(seq);
    this.#uncounted.get(source)?.delete(seq);
  }

  counts(
    source: string,
    now: number,
  ): { ready: number; delayed: number; nextDueAt: number | undefined } {
    let ready = 0;
    let delayed = 0;
    let nextDueAt: number | undefined;
    for (const due of this.#waiting.get(source)?.values() ?? []) {
      if (due <= now) {
        ready++;
        // Due but not seen again yet: it comes back any moment (unless another process has it).
        if (due > now - settleMs)
          nextDueAt = Math.min(nextDueAt ?? Number.POSITIVE_INFINITY, now + repollMs);
      } else {
        delayed++;
        if (nextDueAt === undefined || due < nextDueAt) nextDueAt = due;
      }
    }
    return { ready, delayed, nextDueAt };
  }
}

function bucket(maps: Map<string, Map<number, number>>, source: string): Map<number, number> {
  let map = maps.get(source);
  if (map === undefined) {
    map = new Map();
    maps.set(source, map);
  }
  return map;
}

function trim(map: Map<number, number>): void {
  if (map.size <= cap) return;
  const oldest = map.keys().next();
  if (!oldest.done) map.delete(oldest.value);
}
