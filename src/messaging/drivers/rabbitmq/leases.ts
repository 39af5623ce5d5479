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
  timer: NodeJS.Timeout | undefined;
}

/**
 * Receipts for unacknowledged deliveries. A receipt stays valid while its delivery tag is
 * held on an open channel; a channel closing (the broker then requeues) or a lease running
 * out (the driver requeues with a nack, counted as a failed delivery) makes it stale.
 */
export class Leases {
  readonly #held = new Map<string, Held>();
  #seq = 0;

  hold(channel: Channel, message: Message, queue: string, leaseMs: number): Delivery {
    const receipt = `${++this.#seq}`;
    const stored = decode(message);
    const held: Held = {
      receipt,
      channel,
      message,
      queue,
      attempt: attemptOf(message),
      publishedAt: stored.publishedAt,
      timer: undefined,
    };
    this.#held.set(receipt, held);
    this.#arm(held, leaseMs);
    return { receipt, ...stored, attempt: held.attempt };
  }

  /** Removes the receipt; the caller settles the delivery. Undefined when stale. */
  take(receipt: string): Held | undefined {
    const held = this.#held.get(receipt);
    if (held === undefined) return undefined;
    this.#held.delete(receipt);
    clearTimeout(held.timer);
    return held;
  }

  /**
   * Keeps the receipt held (so its channel stays open) but stops its lease clock, while a
   * copy of the message is being stored elsewhere; `take` it once that is done.
   */
  pin(receipt: string): Held | undefined {
    const held = this.#held.get(receipt);
    if (held === undefined || held.timer === undefined) return undefined;
    clearTimeout(held.timer);
    held.timer = undefined;
    return held;
  }

  extend(receipt: string, leaseMs: number): boolean {
    const held = this.#held.get(receipt);
    if (held === undefined) return false;
    if (held.timer !== undefined) this.#arm(held, leaseMs);
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

  countOn(channel: Channel): number {
    let n = 0;
    for (const held of this.#held.values()) if (held.channel === channel) n++;
    return n;
  }

  clear(): void {
    for (const held of this.#held.values()) clearTimeout(held.timer);
    this.#held.clear();
  }

  #arm(held: Held, leaseMs: number): void {
    clearTimeout(held.timer);
    held.timer = setTimeout(() => {
      if (this.take(held.receipt) === undefined) return;
      try {
        held.channel.nack(held.message, false, true);
      } catch {
        // The channel is gone, and with it the delivery: the broker has requeued it.
      }
    }, leaseMs);
    held.timer.unref();
  }
}
