import { ClosedError, UnsupportedError } from '../../core/errors.js';
import type {
  ClaimRequest,
  ClaimResult,
  DeadLetterRecord,
  DriverCapabilities,
  DriverParts,
  EnqueueOptions,
  EnqueueOutcome,
  MessagingDriver,
  OutgoingRecord,
  QueueStats,
  ReleaseOptions,
  Retention,
  Source,
  StreamEntryRecord,
  StreamParts,
  StreamPosition,
  StreamRecord,
  Target,
} from '../driver.js';

/**
 * One driver from its parts. Every operation of a closed driver fails with SLUICE_CLOSED
 * (wake-up subscriptions aside: they only register a listener), and every stream operation
 * of a driver without streams with SLUICE_UNSUPPORTED; the parts hold only the engine work.
 */
export function assembleDriver(parts: DriverParts): MessagingDriver {
  return new AssembledDriver(parts);
}

/** A store that does every operation under its MessagingDriver name. */
export type DriverStore = Omit<MessagingDriver, 'name' | 'capabilities'>;

/** The parts of a store that does queues, dead letters and streams itself. */
export function storeParts(
  name: string,
  capabilities: DriverCapabilities,
  store: DriverStore,
): DriverParts {
  return {
    name,
    capabilities,
    queues: store,
    deadLetters: {
      list: (source, limit) => store.listDeadLetters(source, limit),
      replay: (source, ids) => store.replayDeadLetters(source, ids),
      purge: (source, ids) => store.purgeDeadLetters(source, ids),
    },
    streams: store,
    close: () => store.close(),
  };
}

/** Also a base class, for a driver made with `new` or with members of its own. */
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
  // rather than wrap it in one more, and turn a synchronous throw into a rejection as an
  // async method would.
  enqueue(
    target: Target,
    records: readonly OutgoingRecord[],
    options: EnqueueOptions,
  ): Promise<EnqueueOutcome[]> {
    try {
      this.#open();
      return this.#parts.queues.enqueue(target, records, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async createGroup(topic: string, group: string): Promise<void> {
    this.#open();
    return this.#parts.queues.createGroup(topic, group);
  }

  claim(source: Source, request: ClaimRequest): Promise<ClaimResult> {
    try {
      this.#open();
      return this.#parts.queues.claim(source, request);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  ack(source: Source, receipts: readonly string[]): Promise<void> {
    try {
      this.#open();
      return this.#parts.queues.ack(source, receipts);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async release(source: Source, receipt: string, options: ReleaseOptions): Promise<void> {
    this.#open();
    return this.#parts.queues.release(source, receipt, options);
  }

  async extendLease(source: Source, receipts: readonly string[], leaseMs: number) {
    this.#open();
    return this.#parts.queues.extendLease(source, receipts, leaseMs);
  }

  async deadLetter(source: Source, receipt: string, error: string): Promise<void> {
    this.#open();
    return this.#parts.queues.deadLetter(source, receipt, error);
  }

  onWork(source: Source, listener: () => void): () => void {
    return this.#parts.queues.onWork(source, listener);
  }

  async stats(source: Source): Promise<QueueStats> {
    this.#open();
    return this.#parts.queues.stats(source);
  }

  async listDeadLetters(source: Source, limit: number): Promise<DeadLetterRecord[]> {
    this.#open();
    return this.#parts.deadLetters.list(source, limit);
  }

  async replayDeadLetters(source: Source, ids: readonly string[] | undefined): Promise<number> {
    this.#open();
    return this.#parts.deadLetters.replay(source, ids);
  }

  async purgeDeadLetters(source: Source, ids: readonly string[] | undefined): Promise<number> {
    this.#open();
    return this.#parts.deadLetters.purge(source, ids);
  }

  async append(stream: string, records: readonly StreamRecord[], retention: Retention) {
    return this.#streams().append(stream, records, retention);
  }

  async read(stream: string, fromOffset: number, limit: number): Promise<StreamEntryRecord[]> {
    return this.#streams().read(stream, fromOffset, limit);
  }

  async resolvePosition(stream: string, position: StreamPosition): Promise<number> {
    return this.#streams().resolvePosition(stream, position);
  }

  async commitOffset(stream: string, group: string, offset: number): Promise<void> {
    return this.#streams().commitOffset(stream, group, offset);
  }

  async committedOffset(stream: string, group: string): Promise<number | undefined> {
    return this.#streams().committedOffset(stream, group);
  }

  onAppend(stream: string, listener: () => void): () => void {
    const streams = this.#parts.streams;
    if (streams === undefined) throw this.#noStreams();
    return streams.onAppend(stream, listener);
  }

  close(): Promise<void> {
    this.#closing ??= this.#parts.close();
    return this.#closing;
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
