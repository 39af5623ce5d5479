import type { Channel, ConsumeMessage } from 'amqplib';
import type { Source } from '../../driver.js';
import { sourceName } from '../../driver.js';
import type { Leases } from './leases.js';
import type { Link } from './link.js';
import { attemptOf, h } from './records.js';
import { Subscription } from './subscription.js';

/** Stores a copy of a delivered message in a queue (confirmed), with extra headers. */
export type Copy = (
  message: ConsumeMessage,
  queue: string,
  extra: Record<string, string | number>,
) => Promise<void>;

interface Waker {
  readonly listener: () => void;
  readonly sub: Subscription;
}

/**
 * Who consumes what in this process. Each consumer loop registers with `onWork` and then
 * claims with its own abort signal; the first claim with a new signal takes the oldest
 * subscription that `onWork` made for that source. When the loop unsubscribes (or its
 * signal aborts) the subscription stops and hands back what it was pushed but never gave
 * out, without counting an attempt.
 */
export class Consumers {
  readonly #link: Link;
  readonly #leases: Leases;
  readonly #copy: Copy;
  readonly #listeners = new Map<string, Set<Waker>>();
  readonly #unbound = new Map<string, Subscription[]>();
  readonly #bySignal = new WeakMap<AbortSignal, Map<string, Subscription>>();
  readonly #drains = new WeakMap<Subscription, Promise<void>>();
  readonly #retiring = new Set<Promise<void>>();
  /** Subscriptions whose unclaimed messages are being copied back. */
  readonly #returning = new WeakSet<Subscription>();
  readonly all = new Set<Subscription>();

  constructor(link: Link, leases: Leases, copy: Copy) {
    this.#link = link;
    this.#leases = leases;
    this.#copy = copy;
  }

  register(source: Source, queue: string, listener: () => void): () => void {
    const key = sourceName(source);
    let listeners = this.#listeners.get(key);
    if (listeners === undefined) {
      listeners = new Set();
      this.#listeners.set(key, listeners);
    }
    const sub = new Subscription(this.#link, queue, listener, (channel) =>
      this.#leases.dropChannel(channel),
    );
    const waker = { listener, sub };
    listeners.add(waker);
    this.all.add(sub);
    const unbound = this.#unbound.get(key) ?? [];
    unbound.push(sub);
    this.#unbound.set(key, unbound);
    return () => {
      listeners.delete(waker);
      const at = unbound.indexOf(sub);
      if (at >= 0) unbound.splice(at, 1);
      const retiring = this.#retire(sub).finally(() => this.#retiring.delete(retiring));
      this.#retiring.add(retiring);
    };
  }

  /** The subscription of the consumer loop claiming with `signal`, if it is one. */
  forClaim(source: Source, signal: AbortSignal | undefined): Subscription | undefined {
    if (signal === undefined) return undefined;
    const key = sourceName(source);
    let mine = this.#bySignal.get(signal);
    const bound = mine?.get(key);
    if (bound !== undefined) return bound.retired ? undefined : bound;
    const sub = this.#unbound.get(key)?.shift();
    if (sub === undefined) return undefined;
    if (mine === undefined) {
      mine = new Map();
      this.#bySignal.set(signal, mine);
    }
    mine.set(key, sub);
    signal.addEventListener('abort', () => void this.drain(sub), { once: true });
    return sub;
  }

  /** Live subscriptions on `queue` (whose unclaimed messages any claimer may take). */
  *on(queue: string): Generator<Subscription> {
    for (const sub of this.all) if (sub.queue === queue) yield sub;
  }

  ownerOf(channel: Channel | undefined): Subscription | undefined {
    if (channel === undefined) return undefined;
    for (const sub of this.all) if (sub.channel === channel) return sub;
    return undefined;
  }

  /**
   * The lowest delivery tag pushed on `channel` and not claimed yet (Infinity when none);
   * undefined unless `channel` is a live subscription's, whose every delivery is either
   * buffered here or held by a claim. (A retiring one copies its unclaimed messages back
   * one by one, out of sight.)
   */
  lowestBufferedTag(channel: Channel): number | undefined {
    for (const sub of this.all) {
      if (sub.channel !== channel) continue;
      if (sub.retired) return undefined;
      let low = Number.POSITIVE_INFINITY;
      for (const m of sub.buffer) low = Math.min(low, m.fields.deliveryTag);
      return low;
    }
    return undefined;
  }

  /** Cancels the subscription's consumer and returns its unclaimed messages uncounted. */
  drain(sub: Subscription): Promise<void> {
    let drained = this.#drains.get(sub);
    if (drained === undefined) {
      drained = this.#returnUnclaimed(sub);
      this.#drains.set(sub, drained);
    }
    return drained;
  }

  /** A retired subscription's channel closes once its last delivery is settled. */
  settled(channel: Channel): void {
    for (const sub of this.all) {
      if (sub.channel === channel && sub.retired) this.#closeIfIdle(sub);
    }
  }

  /**
   * Wakes the loops idle on `key` (every loop when undefined). A subscription that consumes
   * is woken by the broker's push of each message, so a publish here skips it (unless
   * `all`): waking it too would cost an empty claim per message.
   */
  notify(key: string | undefined, all = false): void {
    const wake = (waker: Waker) => {
      if (all || waker.sub.channel === undefined || waker.sub.retired) waker.listener();
    };
    if (key === undefined) {
      for (const listeners of this.#listeners.values()) for (const w of listeners) wake(w);
      return;
    }
    for (const waker of this.#listeners.get(key) ?? []) wake(waker);
  }

  /** After a reconnect: consume again, and wake every loop. */
  async resume(): Promise<void> {
    for (const sub of this.all) await sub.resume();
    this.notify(undefined, true);
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#retiring]);
    this.#listeners.clear();
  }

  async #returnUnclaimed(sub: Subscription): Promise<void> {
    this.#returning.add(sub);
    try {
      const unclaimed = await sub.stop();
      const channel = sub.channel;
      for (const message of unclaimed) {
        try {
          await this.#copy(message, sub.queue, { [h.attempts]: attemptOf(message) - 1 });
          channel?.ack(message);
        } catch {
          // Left unacknowledged: the broker returns it when the channel closes.
        }
      }
    } finally {
      this.#returning.delete(sub);
    }
  }

  async #retire(sub: Subscription): Promise<void> {
    await this.drain(sub);
    this.#closeIfIdle(sub);
  }

  #closeIfIdle(sub: Subscription): void {
    const channel = sub.channel;
    // Closing while unclaimed messages are copied back would make the broker return the
    // originals too: each would come back twice.
    if (this.#returning.has(sub)) return;
    if (!sub.retired || (channel !== undefined && this.#leases.countOn(channel) > 0)) return;
    this.all.delete(sub);
    sub.channel = undefined;
    channel?.close().catch(() => {});
  }
}
