import type { JsDelivery } from './jsmsg.js';

export interface Held {
  readonly receipt: string;
  /** The source key (stream and consumer) the message was claimed from. */
  readonly source: string;
  readonly delivery: JsDelivery;
  readonly attempt: number;
  /** Deadlines on the monotonic clock (`performance.now()`). */
  leaseUntil: number;
  /** When the server's ack_wait runs out unless `working()` restarts it. */
  serverUntil: number;
  /** The consumer's ack_wait, in ms. */
  readonly ackWaitMs: number;
}

const sweepMs = 10;

/**
 * The messages this process holds, by receipt. A lease shorter than the consumer's ack_wait
 * ends here (the message is nak'ed so another consumer gets it at once); a longer one is
 * kept alive on the server with `working()`. A receipt whose lease ended acks nothing.
 *
 * Only the sweep ends leases, and only those whose deadline had passed by the sweep before:
 * after the event loop stalls, every overdue timer runs in one go, the sweep's often
 * first, and the holder's overdue renewal must get its turn before its lease is given away.
 * Deadlines are on the monotonic clock, so a step of the wall clock ends no lease.
 */
export class LeaseTable {
  readonly #held = new Map<string, Held>();
  readonly #onExpired: (held: Held) => void;
  #timer: NodeJS.Timeout | undefined;
  #next = 0;
  /** When the previous sweep ran (monotonic ms). */
  #sweptAt = 0;

  constructor(onExpired: (held: Held) => void) {
    this.#onExpired = onExpired;
  }

  get size(): number {
    return this.#held.size;
  }

  add(
    source: string,
    delivery: JsDelivery,
    attempt: number,
    leaseMs: number,
    ackWaitMs: number,
  ): Held {
    const now = performance.now();
    const held: Held = {
      receipt: `${source}:${delivery.seq}:${++this.#next}`,
      source,
      delivery,
      attempt,
      leaseUntil: now + leaseMs,
      serverUntil: now + ackWaitMs,
      ackWaitMs,
    };
    this.#held.set(held.receipt, held);
    if (this.#timer === undefined) {
      this.#sweptAt = now;
      this.#timer = setInterval(() => this.sweep(), sweepMs).unref();
    }
    return held;
  }

  /** Removes and returns the lease unless it was given up. */
  take(source: string, receipt: string): Held | undefined {
    const held = this.#live(source, receipt);
    if (held !== undefined) this.#drop(held);
    return held;
  }

  /** False when the lease was already lost. */
  extend(source: string, receipt: string, leaseMs: number): boolean {
    const held = this.#live(source, receipt);
    if (held === undefined) return false;
    const now = performance.now();
    held.leaseUntil = now + leaseMs;
    this.#heartbeat(held, now);
    return true;
  }

  sweep(): void {
    const now = performance.now();
    const endedBy = this.#sweptAt;
    this.#sweptAt = now;
    for (const held of this.#held.values()) {
      if (held.leaseUntil <= endedBy) this.#expire(held);
      else this.#heartbeat(held, now);
    }
  }

  /** Gives every lease up, as a consumer that closes does. */
  releaseAll(): Held[] {
    const all = [...this.#held.values()];
    for (const held of all) this.#drop(held);
    return all;
  }

  #live(source: string, receipt: string): Held | undefined {
    const held = this.#held.get(receipt);
    return held === undefined || held.source !== source ? undefined : held;
  }

  #heartbeat(held: Held, now: number): void {
    if (held.leaseUntil > held.serverUntil && held.serverUntil - now < held.ackWaitMs / 2) {
      held.delivery.working();
      held.serverUntil = now + held.ackWaitMs;
    }
  }

  #expire(held: Held): void {
    this.#drop(held);
    this.#onExpired(held);
  }

  #drop(held: Held): void {
    this.#held.delete(held.receipt);
    if (this.#held.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}
