import type { Channel, Message } from 'amqplib';
import type { Delivery } from '../../driver.js';
import { attemptOf, decode } from './records.js';

export interface Held {
  readonly receipt: string;
  readonly channel: Channel;
  readonly message: Message;
  readonly queue: string;
  readonly attempt: number;
  readonly publishedAt: number;
  /** On the monotonic clock; Infinity while pinned. */
  leaseUntil: number;
}

const sweepMs = 10;

/**
 * Receipts for unacknowledged deliveries. A receipt stays valid while its delivery tag is
 * held on an open channel; a channel closing (the broker then requeues) or a lease running
 * out (the driver requeues with a nack, counted as a failed delivery) makes it stale.
 *
 * One sweep ends leases rather than a timer per delivery, and only leases whose deadline
 * had passed by the sweep before: after the event loop stalls, every overdue timer runs in
 * one go, and the holder's overdue renewal must get its turn before its lease is given away.
 */
export class Leases {
  readonly #held = new Map<string, Held>();
  #seq = 0;
  #timer: NodeJS.Timeout | undefined;
  /** When the previous sweep ran (monotonic ms). */
  #sweptAt = 0;

  hold(channel: Channel, message: Message, queue: string, leaseMs: number): Delivery {
    const receipt = `${++this.#seq}`;
    const stored = decode(message);
    const now = performance.now();
    const held: Held = {
      receipt,
      channel,
      message,
      queue,
      attempt: attemptOf(message),
      publishedAt: stored.publishedAt,
      leaseUntil: now + leaseMs,
    };
    this.#held.set(receipt, held);
    if (this.#timer === undefined) {
      this.#sweptAt = now;
      this.#timer = setInterval(() => this.#sweep(), sweepMs);
      this.#timer.unref();
    }
    return { receipt, ...stored, attempt: held.attempt };
  }

  /** Removes the receipt; the caller settles the delivery. Undefined when stale. */
  take(receipt: string): Held | undefined {
    const held = this.#held.get(receipt);
    if (held === undefined) return undefined;
    this.#held.delete(receipt);
    if (this.#held.size === 0) this.#stop();
    return held;
  }

  /**
   * Keeps the receipt held (so its channel stays open) but stops its lease clock, while a
   * copy of the message is being stored elsewhere; `take` it once that is done.
   */
  pin(receipt: string): Held | undefined {
    const held = this.#held.get(receipt);
    if (held === undefined || held.leaseUntil === Number.POSITIVE_INFINITY) return undefined;
    held.leaseUntil = Number.POSITIVE_INFINITY;
    return held;
  }

  extend(receipt: string, leaseMs: number): boolean {
    const held = this.#held.get(receipt);
    if (held === undefined) return false;
    if (held.leaseUntil !== Number.POSITIVE_INFINITY) held.leaseUntil = performance.now() + leaseMs;
    return true;
  }

  /** The broker returned everything this channel held when it closed. */
  dropChannel(channel: Channel): void {
    for (const held of this.#held.values()) {
      if (held.channel === channel) this.take(held.receipt);
    }
  }

  heldOn(queue: string): Held[] {
    return [...this.#held.values()].filter((held) => held.queue === queue);
  }

  channelOf(receipt: string): Channel | undefined {
    return this.#held.get(receipt)?.channel;
  }

  /** The lowest delivery tag held on `channel`, Infinity when none is. */
  lowestTagOn(channel: Channel): number {
    let low = Number.POSITIVE_INFINITY;
    for (const held of this.#held.values()) {
      if (held.channel === channel && held.message.fields.deliveryTag < low) {
        low = held.message.fields.deliveryTag;
      }
    }
    return low;
  }

  countOn(channel: Channel): number {
    let n = 0;
    for (const held of this.#held.values()) if (held.channel === channel) n++;
    return n;
  }

  clear(): void {
    this.#held.clear();
    this.#stop();
  }

  #sweep(): void {
    const endedBy = this.#sweptAt;
    this.#sweptAt = performance.now();
    for (const held of this.#held.values()) {
      if (held.leaseUntil > endedBy || this.take(held.receipt) === undefined) continue;
      try {
        held.channel.nack(held.message, false, true);
      } catch {
        // The channel is gone, and with it the delivery: the broker has requeued it.
      }
    }
  }

  #stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
