import { ClosedError } from '../core/errors.js';
import type { MessagingDriver } from './driver.js';
import type { Consumer } from './types.js';

/** What queues, topics and streams share: the driver, the open/closed state, the consumers. */
export class BrokerCore {
  readonly driver: MessagingDriver;
  readonly #consumers = new Set<Consumer>();
  readonly #pending = new Set<Promise<unknown>>();
  #closed = false;

  constructor(driver: MessagingDriver) {
    this.driver = driver;
  }

  get closed(): boolean {
    return this.#closed;
  }

  assertOpen(): void {
    if (this.#closed) throw new ClosedError('the broker is closed');
  }

  /** Keeps `work` in view so close() waits for it. */
  track<R>(work: Promise<R>): Promise<R> {
    this.#pending.add(work);
    const forget = () => this.#pending.delete(work);
    work.then(forget, forget);
    return work;
  }

  adopt(consumer: Consumer): void {
    this.#consumers.add(consumer);
    void consumer.closed.then(() => this.#consumers.delete(consumer));
  }

  async close(drainTimeout: number | undefined): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#consumers].map((c) => c.stop({ drainTimeout })));
    await Promise.allSettled([...this.#pending]);
    await this.driver.close();
  }
}
