import { ClosedError } from '../core/errors.js';
import type { MessagingDriver } from './driver.js';
import type { Consumer } from './types.js';

/** What queues, topics and streams share: the driver, the open/closed state, the consumers. */
export class BrokerCore {
  readonly driver: MessagingDriver;
  readonly #consumers = new Set<Consumer>();
  #pending = 0;
  #idle: (() => void) | undefined;
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
    this.#pending++;
    work.then(this.#settled, this.#settled);
    return work;
  }

  readonly #settled = (): void => {
    if (--this.#pending === 0) this.#idle?.();
  };

  adopt(consumer: Consumer): void {
    this.#consumers.add(consumer);
    void consumer.closed.then(() => this.#consumers.delete(consumer));
  }

  async close(drainTimeout: number | undefined): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#consumers].map((c) => c.stop({ drainTimeout })));
    if (this.#pending > 0) {
      await new Promise<void>((resolve) => {
        this.#idle = resolve;
      });
    }
    await this.driver.close();
  }
}
