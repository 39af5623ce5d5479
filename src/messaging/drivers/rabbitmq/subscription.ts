import type { Channel, ConsumeMessage } from 'amqplib';
import type { Link } from './link.js';

/**
 * One consumer loop's basic.consume on a channel of its own, with basic.qos set to the
 * loop's prefetch so the broker pushes no more than the loop may hold. Deliveries wait in
 * `buffer` until claimed. Survives reconnects: `resume` consumes again on a new channel.
 */
export class Subscription {
  readonly queue: string;
  readonly buffer: ConsumeMessage[] = [];
  channel: Channel | undefined;
  retired = false;
  #prefetch = 0;
  #tag: string | undefined;
  #starting: Promise<void> | undefined;
  readonly #link: Link;
  readonly #arrived: () => void;
  readonly #closed: (channel: Channel) => void;

  constructor(link: Link, queue: string, arrived: () => void, closed: (channel: Channel) => void) {
    this.#link = link;
    this.queue = queue;
    this.#arrived = arrived;
    this.#closed = closed;
  }

  get started(): boolean {
    return this.#prefetch > 0;
  }

  start(prefetch: number): Promise<void> {
    if (this.#prefetch === 0) this.#prefetch = prefetch;
    this.#starting ??= this.#consume().finally(() => {
      this.#starting = undefined;
    });
    return this.#starting;
  }

  /** After a reconnect: consume again if this subscription was running. */
  resume(): Promise<void> {
    if (this.retired || this.#prefetch === 0 || this.channel !== undefined) {
      return Promise.resolve();
    }
    return this.start(this.#prefetch);
  }

  take(max: number): ConsumeMessage[] {
    return this.buffer.splice(0, max);
  }

  #stopped: Promise<ConsumeMessage[]> | undefined;

  /** Stops deliveries (once); resolves with what was pushed but never claimed. */
  stop(): Promise<ConsumeMessage[]> {
    this.retired = true;
    this.#stopped ??= this.#cancel();
    return this.#stopped;
  }

  async #cancel(): Promise<ConsumeMessage[]> {
    await this.#starting?.catch(() => {});
    const channel = this.channel;
    if (channel !== undefined && this.#tag !== undefined) {
      await channel.cancel(this.#tag).catch(() => {});
    }
    return this.buffer.splice(0);
  }

  async #consume(): Promise<void> {
    const channel = await this.#link.channel();
    channel.on('error', () => {});
    channel.once('close', () => {
      if (this.channel === channel) this.channel = undefined;
      this.buffer.length = 0;
      this.#tag = undefined;
      this.#closed(channel);
    });
    await channel.prefetch(this.#prefetch);
    this.channel = channel;
    const { consumerTag } = await channel.consume(
      this.queue,
      (message) => {
        if (message === null) return;
        if (this.channel !== channel) return;
        this.buffer.push(message);
        this.#arrived();
      },
      { noAck: false },
    );
    this.#tag = consumerTag;
    if (this.retired) await channel.cancel(consumerTag).catch(() => {});
  }
}
