import { InvalidArgumentError } from '../core/errors.js';
import type { BrokerCore } from './broker-core.js';
import { decodePayload } from './codec.js';
import { resolveConsumerConfig } from './consume-options.js';
import { ConsumerLoop } from './consumer.js';
import { DeadLetterBox } from './dead-letters.js';
import type { QueueStats, Source, Target } from './driver.js';
import { InvalidMessageError } from './errors.js';
import { watchSource } from './metrics.js';
import type { ProducerConfig } from './producer.js';
import { Publisher } from './publisher.js';
import type { ConsumeOptions, Consumer, DeadLetters, Handler } from './types.js';

/** Starts a consumer on `source`: the part queues and topic subscriptions share. */
export function startConsumer<T>(
  core: BrokerCore,
  source: Source,
  handler: Handler<T>,
  options: ConsumeOptions | undefined,
  config: ProducerConfig,
): Consumer {
  core.assertOpen();
  if (typeof handler !== 'function') throw new InvalidArgumentError('handler must be a function');
  const consumerConfig = resolveConsumerConfig(options, core.driver.name, core.driver.capabilities);
  const { check } = config;
  const decode = (body: string): T => {
    const payload = decodePayload(body);
    const problem = check?.(payload);
    if (problem !== undefined) throw new InvalidMessageError(`invalid payload: ${problem}`);
    return payload as T;
  };
  const loop = new ConsumerLoop<T>(core.driver, source, handler, consumerConfig, decode);
  core.adopt(loop);
  watchSource(core, source);
  loop.start();
  return loop;
}

/** A work queue: each message goes to one of the competing consumers. */
export class Queue<T = unknown> extends Publisher<T> {
  readonly deadLetters: DeadLetters<T>;
  readonly #core: BrokerCore;
  readonly #config: ProducerConfig;
  readonly #source: Source;

  constructor(core: BrokerCore, name: string, config: ProducerConfig) {
    const target: Target = { kind: 'queue', queue: name };
    super(core, name, target, config);
    this.#core = core;
    this.#config = config;
    this.#source = target;
    this.deadLetters = new DeadLetterBox<T>(core, this.#source);
  }

  consume(handler: Handler<T>, options?: ConsumeOptions): Consumer {
    return startConsumer(this.#core, this.#source, handler, options, this.#config);
  }

  async stats(): Promise<QueueStats> {
    this.#core.assertOpen();
    return this.#core.driver.stats(this.#source);
  }
}
