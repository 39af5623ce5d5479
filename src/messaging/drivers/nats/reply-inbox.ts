import {
  createInbox,
  type Msg,
  type NatsConnection,
  type Subscription,
} from '@nats-io/transport-node';

/**
 * Replies to many requests on one long-lived wildcard subscription: each request gets a
 * subject of its own under one inbox prefix, rather than a subscription of its own.
 */
export class ReplyInbox {
  readonly #prefix = createInbox();
  readonly #sub: Subscription;
  #next = 0;

  constructor(nc: NatsConnection, onReply: (msg: Msg) => void) {
    this.#sub = nc.subscribe(`${this.#prefix}.*`, { callback: (_error, msg) => onReply(msg) });
  }

  /** A reply subject no earlier request had; a reply's `msg.subject` is that subject. */
  next(): string {
    return `${this.#prefix}.${++this.#next}`;
  }

  close(): void {
    this.#sub.unsubscribe();
  }
}
