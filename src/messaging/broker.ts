import type { Component, StopOptions as LifecycleStopOptions } from '../core/lifecycle.js';
import { BrokerCore } from './broker-core.js';
import type { DriverCapabilities, MessagingDriver } from './driver.js';
import { resolveProducerConfig } from './producer.js';
import { Queue } from './queue.js';
import { Stream, type StreamOptions } from './stream.js';
import { Topic } from './topic.js';
import type { QueueOptions, StopOptions, TopicOptions } from './types.js';
import { checkName } from './validate.js';

/** What `connect()` returns: the handle on one messaging engine. */
export class Broker implements Component {
  readonly name = 'messaging';
  readonly #core: BrokerCore;

  constructor(driver: MessagingDriver) {
    this.#core = new BrokerCore(driver);
  }

  get driver(): string {
    return this.#core.driver.name;
  }

  get capabilities(): DriverCapabilities {
    return this.#core.driver.capabilities;
  }

  get closed(): boolean {
    return this.#core.closed;
  }

  queue<T = unknown>(name: string, options?: QueueOptions<T>): Queue<T> {
    this.#core.assertOpen();
    checkName('queue', name);
    return new Queue<T>(this.#core, name, resolveProducerConfig(options, this.#core));
  }

  topic<T = unknown>(name: string, options?: TopicOptions<T>): Topic<T> {
    this.#core.assertOpen();
    checkName('topic', name);
    return new Topic<T>(this.#core, name, resolveProducerConfig(options, this.#core));
  }

  stream<T = unknown>(name: string, options?: StreamOptions<T>): Stream<T> {
    this.#core.assertOpen();
    checkName('stream', name);
    return new Stream<T>(this.#core, name, options);
  }

  /** Stops consumers (draining up to `drainTimeout`), waits for publishes, closes the driver. */
  close(options: StopOptions = {}): Promise<void> {
    return this.#core.close(options.drainTimeout);
  }

  /** The lifecycle face: connect() already started it. */
  start(): void {}

  stop(options: LifecycleStopOptions): Promise<void> {
    return this.close({ drainTimeout: options.drainTimeout });
  }
}
