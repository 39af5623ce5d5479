import type { BrokerCore } from './broker-core.js';
import type { Target } from './driver.js';
import { Producer, type ProducerConfig } from './producer.js';
import type { OutgoingMessage, PublishOptions, PublishResult } from './types.js';

/** What a queue and a topic share: a name, and publishing to it. */
export class Publisher<T> {
  readonly name: string;
  readonly #producer: Producer<T>;

  constructor(core: BrokerCore, name: string, target: Target, config: ProducerConfig) {
    this.name = name;
    this.#producer = new Producer<T>(core, target, config);
  }

  /** Resolves once the message is stored (durably, for a durable driver). */
  publish(payload: T, options?: PublishOptions): Promise<PublishResult> {
    if (options === undefined) return this.#producer.publishOne({ payload }, undefined);
    const { signal, ...rest } = options;
    return this.#producer.publishOne({ ...rest, payload }, signal);
  }

  /** Stores all the messages together; resolves once all are stored. */
  publishBatch(
    messages: readonly OutgoingMessage<T>[],
    options: { signal?: AbortSignal } = {},
  ): Promise<PublishResult[]> {
    return this.#producer.publish(messages, options.signal);
  }
}
