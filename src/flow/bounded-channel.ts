import { channels } from '../core/diagnostics.js';
import { AbortedError, ClosedError, InvalidArgumentError, QueueFullError } from '../core/errors.js';
import { RingBuffer } from './ring-buffer.js';
import { WaiterList, type WaiterNode } from './waiter-list.js';

/** What a send does when the buffer is full. */
export type OverflowPolicy = 'block' | 'reject' | 'drop-oldest';

export interface BoundedChannelOptions<T> {
  name?: string;
  /** Items buffered at most. */
  capacity: number;
  /** Default 'block'. */
  overflow?: OverflowPolicy;
  /** `writable` turns false when the buffer reaches this size. Default `capacity`. */
  highWatermark?: number;
  /** `writable` turns true again when the buffer drains to this size. Default half of high. */
  lowWatermark?: number;
  /**
   * Senders that may wait under 'block'; one more is rejected with QueueFullError. A guard
   * against runaway producers rather than a tuning knob. Default 1,024.
   */
  maxWaitingSenders?: number;
  onHigh?: () => void;
  onLow?: () => void;
  /** Receives each item evicted under 'drop-oldest'. */
  onDrop?: (item: T) => void;
}

export interface ChannelWaitOptions {
  signal?: AbortSignal;
}

interface Sender<T> {
  item: T;
  resolve(): void;
  reject(error: unknown): void;
  release(): void;
}

interface Receiver<T> {
  resolve(result: IteratorResult<T, undefined>): void;
  reject(error: unknown): void;
  release(): void;
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/**
 * A bounded FIFO between producers and consumers. Memory is bounded by `capacity`
 * buffered items plus `maxWaitingSenders` items held by blocked senders; waiting
 * receivers hold no items and are as many as the consumers the caller started.
 *
 * After `close()`, sends reject with ClosedError (including blocked ones, whose items are
 * not accepted); buffered items can still be received; then receivers end.
 */
export class BoundedChannel<T> implements AsyncIterable<T> {
  readonly name: string;
  readonly capacity: number;
  readonly overflow: OverflowPolicy;
  readonly #buffer: RingBuffer<T>;
  readonly #senders = new WaiterList<Sender<T>>();
  readonly #receivers = new WaiterList<Receiver<T>>();
  readonly #high: number;
  readonly #low: number;
  readonly #maxSenders: number;
  readonly #options: BoundedChannelOptions<T>;
  #writable = true;
  #closed = false;

  constructor(options: BoundedChannelOptions<T>) {
    const capacity = options.capacity;
    const high = options.highWatermark ?? capacity;
    const low = options.lowWatermark ?? Math.floor(high / 2);
    const maxSenders = options.maxWaitingSenders ?? 1_024;
    if (!(Number.isInteger(capacity) && capacity >= 1)) {
      throw new InvalidArgumentError(`capacity must be a whole number >= 1, got ${capacity}`);
    }
    if (!(low >= 0 && low < high && high <= capacity)) {
      throw new InvalidArgumentError(
        `watermarks must satisfy 0 <= low < high <= capacity, got ${low}, ${high}, ${capacity}`,
      );
    }
    if (!(Number.isInteger(maxSenders) && maxSenders >= 0)) {
      throw new InvalidArgumentError(`maxWaitingSenders must be >= 0, got ${maxSenders}`);
    }
    this.name = options.name ?? 'default';
    this.capacity = capacity;
    this.overflow = options.overflow ?? 'block';
    this.#buffer = new RingBuffer<T>(capacity);
    this.#high = high;
    this.#low = low;
    this.#maxSenders = maxSenders;
    this.#options = options;
  }

  /** Items buffered (not counting blocked senders). */
  get size(): number {
    return this.#buffer.size;
  }

  /** False from the high watermark until the buffer drains to the low one. */
  get writable(): boolean {
    return this.#writable;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Senders blocked waiting for space. */
  get waitingSenders(): number {
    return this.#senders.size;
  }

  /** Accepts the item when there is room, or as the overflow policy says; never waits. */
  trySend(item: T): boolean {
    if (this.#closed) throw new ClosedError(`channel "${this.name}" is closed`);
    if (this.#deliver(item)) return true;
    if (this.overflow !== 'drop-oldest') return false;
    this.#dropOldest();
    this.#push(item);
    return true;
  }

  /** Resolves once the item is accepted; under 'block' waits for room. */
  send(item: T, options: ChannelWaitOptions = {}): Promise<void> {
    if (this.#closed) return Promise.reject(new ClosedError(`channel "${this.name}" is closed`));
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(aborted(signal));
    if (this.trySend(item)) return Promise.resolve();
    if (this.overflow === 'reject') {
      this.#publishOverflow('reject');
      return Promise.reject(new QueueFullError(`channel "${this.name}" is full`));
    }
    if (this.#senders.size >= this.#maxSenders) {
      return Promise.reject(
        new QueueFullError(`channel "${this.name}" is full and ${this.#maxSenders} senders wait`),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const node = this.#senders.push({ item, resolve, reject, release: () => {} });
      this.#listen(signal, node, this.#senders, reject);
    });
  }

  /** The next item; rejects with ClosedError once the channel is closed and drained. */
  async receive(options: ChannelWaitOptions = {}): Promise<T> {
    const result = await this.#next(options.signal);
    if (result.done) throw new ClosedError(`channel "${this.name}" is closed`);
    return result.value;
  }

  /** Stops accepting items; what is buffered can still be received. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (let s = this.#senders.shift(); s !== undefined; s = this.#senders.shift()) {
      s.release();
      s.reject(new ClosedError(`channel "${this.name}" closed before the item was accepted`));
    }
    for (let r = this.#receivers.shift(); r !== undefined; r = this.#receivers.shift()) {
      r.release();
      r.resolve(DONE);
    }
  }

  /** Each consumer loop competes for items; leaving a loop does not close the channel. */
  [Symbol.asyncIterator](): AsyncIterator<T, undefined> {
    return {
      next: () => this.#next(undefined),
      return: () => Promise.resolve(DONE),
    };
  }

  #next(signal: AbortSignal | undefined): Promise<IteratorResult<T, undefined>> {
    if (signal?.aborted) return Promise.reject(aborted(signal));
    if (this.#buffer.size > 0) return Promise.resolve({ done: false, value: this.#shift() });
    if (this.#closed) return Promise.resolve(DONE);
    return new Promise((resolve, reject) => {
      const node = this.#receivers.push({ resolve, reject, release: () => {} });
      this.#listen(signal, node, this.#receivers, reject);
    });
  }

  #listen<W extends { release(): void }>(
    signal: AbortSignal | undefined,
    node: WaiterNode<W>,
    list: WaiterList<W>,
    reject: (error: unknown) => void,
  ): void {
    if (signal === undefined) return;
    const onAbort = () => {
      list.remove(node);
      reject(aborted(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    node.value.release = () => signal.removeEventListener('abort', onAbort);
  }

  /** Hands the item to a waiting receiver or buffers it; false when the buffer is full. */
  #deliver(item: T): boolean {
    const receiver = this.#receivers.shift();
    if (receiver !== undefined) {
      receiver.release();
      receiver.resolve({ done: false, value: item });
      return true;
    }
    if (this.#buffer.full) return false;
    this.#push(item);
    return true;
  }

  #push(item: T): void {
    this.#buffer.push(item);
    if (this.#writable && this.#buffer.size >= this.#high) {
      this.#writable = false;
      this.#options.onHigh?.();
    }
  }

  #shift(): T {
    const item = this.#buffer.shift();
    const sender = this.#senders.shift();
    if (sender !== undefined) {
      this.#buffer.push(sender.item);
      sender.release();
      sender.resolve();
    }
    if (!this.#writable && this.#buffer.size <= this.#low) {
      this.#writable = true;
      this.#options.onLow?.();
    }
    return item;
  }

  #dropOldest(): void {
    const dropped = this.#buffer.shift();
    this.#publishOverflow('drop-oldest');
    this.#options.onDrop?.(dropped);
  }

  #publishOverflow(policy: 'reject' | 'drop-oldest'): void {
    if (channels.channelOverflow.hasSubscribers) {
      channels.channelOverflow.publish({ name: this.name, policy });
    }
  }
}

function aborted(signal: AbortSignal): AbortedError {
  return new AbortedError('Channel wait was aborted', { cause: signal.reason });
}

export function boundedChannel<T>(options: BoundedChannelOptions<T>): BoundedChannel<T> {
  return new BoundedChannel<T>(options);
}
