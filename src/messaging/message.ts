import type { Delivery } from './driver.js';
import type { Headers, Message } from './types.js';

export class DeliveredMessage<T> implements Message<T> {
  readonly id: string;
  readonly key: string | undefined;
  readonly headers: Headers;
  readonly payload: T;
  readonly attempt: number;
  readonly publishedAt: Date;
  readonly source: string;
  readonly #extend: (ms: number | undefined) => Promise<void>;

  constructor(
    delivery: Delivery,
    payload: T,
    source: string,
    extend: (ms: number | undefined) => Promise<void>,
  ) {
    this.id = delivery.id;
    this.key = delivery.key;
    this.headers = delivery.headers;
    this.payload = payload;
    this.attempt = delivery.attempt;
    this.publishedAt = new Date(delivery.publishedAt);
    this.source = source;
    this.#extend = extend;
  }

  extendLease(ms?: number): Promise<void> {
    return this.#extend(ms);
  }
}
