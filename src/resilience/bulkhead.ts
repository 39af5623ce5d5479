import { type BulkheadEvent, channels } from '../core/diagnostics.js';
import { BulkheadFullError, InvalidArgumentError } from '../core/errors.js';
import { PolicyBase } from './base.js';
import type { ExecutionContext } from './context.js';
import { invoke } from './invoke.js';
import { runIn, type Work } from './policy.js';

export interface BulkheadOptions {
  maxConcurrent: number;
  /** Callers allowed to wait for a slot; default 0 (reject at once when full). */
  maxQueue?: number;
  /** How long a queued caller waits before it is rejected; default 10 s. */
  queueTimeoutMs?: number;
  name?: string;
}

export interface BulkheadStats {
  active: number;
  queued: number;
}

/** A caller waiting for a slot: a node of the FIFO queue, removable in O(1). */
class Waiter {
  prev: Waiter | undefined = undefined;
  next: Waiter | undefined = undefined;
  timer: ReturnType<typeof setTimeout> | undefined = undefined;
  stopListening: () => void = () => {};

  constructor(
    readonly grant: () => void,
    readonly refuse: (error: unknown) => void,
  ) {}
}

export class Bulkhead extends PolicyBase {
  readonly name: string;
  private readonly maxConcurrent: number;
  private readonly maxQueue: number;
  private readonly queueTimeoutMs: number;
  private active = 0;
  private queued = 0;
  private head: Waiter | undefined = undefined;
  private tail: Waiter | undefined = undefined;

  constructor(options: BulkheadOptions) {
    super();
    this.name = options.name ?? 'default';
    this.maxConcurrent = options.maxConcurrent;
    this.maxQueue = options.maxQueue ?? 0;
    this.queueTimeoutMs = options.queueTimeoutMs ?? 10_000;
    if (!Number.isInteger(this.maxConcurrent) || this.maxConcurrent < 1) {
      throw new InvalidArgumentError(
        `maxConcurrent must be an integer >= 1, got ${this.maxConcurrent}`,
      );
    }
    if (!(this.maxQueue >= 0)) throw new InvalidArgumentError('maxQueue must be >= 0');
  }

  stats(): BulkheadStats {
    return { active: this.active, queued: this.queued };
  }

  [runIn]<T>(fn: Work<T>, context: ExecutionContext): Promise<T> {
    if (this.active < this.maxConcurrent) {
      this.active++;
      return this.run(fn, context);
    }
    if (this.queued >= this.maxQueue) {
      this.publish('rejected');
      return Promise.reject(new BulkheadFullError(`Bulkhead "${this.name}" is full`));
    }
    return this.wait(context).then(() => this.run(fn, context));
  }

  private run<T>(fn: Work<T>, context: ExecutionContext): Promise<T> {
    return invoke(fn, context).then(
      (value) => {
        this.release();
        return value;
      },
      (error: unknown) => {
        this.release();
        throw error;
      },
    );
  }

  /** Hands the slot straight to the oldest waiter, so `active` never dips in between. */
  private release(): void {
    const waiter = this.head;
    if (waiter === undefined) {
      this.active--;
      return;
    }
    this.dequeue(waiter);
    waiter.grant();
  }

  private wait(context: ExecutionContext): Promise<void> {
    if (context.aborted) return Promise.reject(context.abortError());
    return new Promise<void>((resolve, reject) => {
      const waiter = new Waiter(resolve, reject);
      this.enqueue(waiter);
      waiter.timer = setTimeout(() => {
        this.dequeue(waiter);
        this.publish('queue-timeout');
        reject(
          new BulkheadFullError(
            `Bulkhead "${this.name}": no slot within ${this.queueTimeoutMs} ms`,
          ),
        );
      }, this.queueTimeoutMs);
      waiter.stopListening = context.onAbort(() => {
        this.dequeue(waiter);
        reject(context.abortError());
      });
    });
  }

  private enqueue(waiter: Waiter): void {
    waiter.prev = this.tail;
    if (this.tail !== undefined) this.tail.next = waiter;
    else this.head = waiter;
    this.tail = waiter;
    this.queued++;
  }

  private dequeue(waiter: Waiter): void {
    if (waiter.prev !== undefined) waiter.prev.next = waiter.next;
    else this.head = waiter.next;
    if (waiter.next !== undefined) waiter.next.prev = waiter.prev;
    else this.tail = waiter.prev;
    waiter.prev = undefined;
    waiter.next = undefined;
    clearTimeout(waiter.timer);
    waiter.stopListening();
    this.queued--;
  }

  private publish(outcome: BulkheadEvent['outcome']): void {
    if (channels.bulkhead.hasSubscribers) {
      const event: BulkheadEvent = {
        name: this.name,
        active: this.active,
        queued: this.queued,
        outcome,
      };
      channels.bulkhead.publish(event);
    }
  }
}

/** Caps concurrent executions, with a bounded FIFO queue of callers waiting for a slot. */
export function bulkhead(options: BulkheadOptions): Bulkhead {
  return new Bulkhead(options);
}
