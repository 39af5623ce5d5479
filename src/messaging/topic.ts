import { UnsupportedError } from '../core/errors.js';
import type { BrokerCore } from './broker-core.js';
import { DeadLetterBox } from './dead-letters.js';
import type { QueueStats, Source } from './driver.js';
import type { ProducerConfig } from './producer.js';
import { Publisher } from './publisher.js';
import { startConsumer } from './queue.js';
import type { ConsumeOptions, Consumer, DeadLetters, Handler } from './types.js';
import { checkName } from './validate.js';

/**
 * Events: every group receives every event published after the group was created;
 * consumers within one group share its events as a queue's consumers do.
 */
export class Topic<T = unknown> extends Publisher<T> {
  readonly #core: BrokerCore;
  readonly #config: ProducerConfig;

  constructor(core: BrokerCore, name: string, config: ProducerConfig) {
    if (!core.driver.capabilities.topics) {
      throw new UnsupportedError(`the ${core.driver.name} driver does not offer topics`);
    }
    super(core, name, { kind: 'topic', topic: name }, config);
    this.#core = core;
    this.#config = config;
  }

  /** Creates the group if needed; it receives events published from now on. */
  async createGroup(group: string): Promise<void> {
    this.#core.assertOpen();
    await this.#core.track(this.#core.driver.createGroup(this.name, checkName('group', group)));
  }

  async subscribe(group: string, handler: Handler<T>, options?: ConsumeOptions): Promise<Consumer> {
    await this.createGroup(group);
    return startConsumer(this.#core, this.#source(group), handler, options, this.#config);
  }

  async stats(group: string): Promise<QueueStats> {
    this.#core.assertOpen();
    return this.#core.driver.stats(this.#source(group));
  }

  deadLetters(group: string): DeadLetters<T> {
    return new DeadLetterBox<T>(this.#core, this.#source(group));
  }

  #source(group: string): Source {
    return { kind: 'subscription', topic: this.name, group: checkName('group', group) };
  }
}
