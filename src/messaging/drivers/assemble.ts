import { ClosedError, UnsupportedError } from '../../core/errors.js';
import type {
  DeadLetterParts,
  DriverCapabilities,
  DriverParts,
  MessagingDriver,
  QueueParts,
  StreamParts,
} from '../driver.js';

/** The parameters of a MessagingDriver operation: each signature is stated once, in the SPI. */
type Args<K extends keyof MessagingDriver> = Parameters<
  Extract<MessagingDriver[K], (...args: never) => unknown>
>;

/**
 * One driver from its parts. Every operation of a closed driver fails with SLUICE_CLOSED
 * (wake-up subscriptions aside: they only register a listener), and every stream operation
 * of a driver without streams with SLUICE_UNSUPPORTED; the parts hold only the engine work.
 */
export function assembleDriver(parts: DriverParts): MessagingDriver {
  return new AssembledDriver(parts);
}

/** A driver's store: its queue part, holding its dead-letter and stream parts. */
export interface DriverStore extends QueueParts {
  readonly capabilities: DriverCapabilities;
  readonly deadLetters: DeadLetterParts;
  readonly streams: StreamParts;
  close(): Promise<void>;
}

/** The parts of a store. */
export function storeParts(name: string, store: DriverStore): DriverParts {
  const { capabilities, deadLetters, streams } = store;
  return { name, capabilities, queues: store, deadLetters, streams, close: () => store.close() };
}

/** Also a base class, for a driver with members of its own. */
export class AssembledDriver implements MessagingDriver {
  readonly name: string;
  readonly capabilities: DriverCapabilities;
  readonly #parts: DriverParts;
  #closing: Promise<void> | undefined;

  constructor(parts: DriverParts) {
    this.name = parts.name;
    this.capabilities = parts.capabilities;
    this.#parts = parts;
  }

  // Every publish, claim and ack passes here: these three hand back the part's own promise
  // rather than wrap it in one more (see #hot).
  enqueue(...args: Args<'enqueue'>) {
    return this.#hot(() => this.#parts.queues.enqueue(...args));
  }

  async createGroup(...args: Args<'createGroup'>) {
    this.#open();
    return this.#parts.queues.createGroup(...args);
  }

  claim(...args: Args<'claim'>) {
    return this.#hot(() => this.#parts.queues.claim(...args));
  }

  ack(...args: Args<'ack'>) {
    return this.#hot(() => this.#parts.queues.ack(...args));
  }

  async release(...args: Args<'release'>) {
    this.#open();
    return this.#parts.queues.release(...args);
  }

  async extendLease(...args: Args<'extendLease'>) {
    this.#open();
    return this.#parts.queues.extendLease(...args);
  }

  async deadLetter(...args: Args<'deadLetter'>) {
    this.#open();
    return this.#parts.queues.deadLetter(...args);
  }

  onWork(...args: Args<'onWork'>) {
    return this.#parts.queues.onWork(...args);
  }

  async stats(...args: Args<'stats'>) {
    this.#open();
    return this.#parts.queues.stats(...args);
  }

  async listDeadLetters(...args: Args<'listDeadLetters'>) {
    this.#open();
    return this.#parts.deadLetters.list(...args);
  }

  async replayDeadLetters(...args: Args<'replayDeadLetters'>) {
    this.#open();
    return this.#parts.deadLetters.replay(...args);
  }

  async purgeDeadLetters(...args: Args<'purgeDeadLetters'>) {
    this.#open();
    return this.#parts.deadLetters.purge(...args);
  }

  async append(...args: Args<'append'>) {
    return this.#streams().append(...args);
  }

  async read(...args: Args<'read'>) {
    return this.#streams().read(...args);
  }

  async resolvePosition(...args: Args<'resolvePosition'>) {
    return this.#streams().resolvePosition(...args);
  }

  async commitOffset(...args: Args<'commitOffset'>) {
    return this.#streams().commitOffset(...args);
  }

  async committedOffset(...args: Args<'committedOffset'>) {
    return this.#streams().committedOffset(...args);
  }

  onAppend(...args: Args<'onAppend'>) {
    const streams = this.#parts.streams;
    if (streams === undefined) throw this.#noStreams();
    return streams.onAppend(...args);
  }

  close(): Promise<void> {
    this.#closing ??= this.#parts.close();
    return this.#closing;
  }

  /** `work` on an open driver, a synchronous throw turned into a rejection as in an async method. */
  #hot<R>(work: () => Promise<R>): Promise<R> {
    try {
      this.#open();
      return work();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #open(): void {
    if (this.#closing !== undefined) throw new ClosedError(`the ${this.name} driver is closed`);
  }

  #streams(): StreamParts {
    const streams = this.#parts.streams;
    if (streams === undefined) throw this.#noStreams();
    this.#open();
    return streams;
  }

  #noStreams(): UnsupportedError {
    return new UnsupportedError(
      this.#parts.noStreams ?? `the ${this.name} driver does not offer streams`,
    );
  }
}
