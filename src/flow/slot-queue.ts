import { AbortedError } from '../core/errors.js';
import type { ConcurrencyLimit, LimitToken } from './concurrency-limit.js';

/** A caller waiting for a slot: a node of the FIFO queue, removable in O(1). */
class Waiter {
  prev: Waiter | undefined = undefined;
  next: Waiter | undefined = undefined;
  stopListening: () => void = () => {};

  constructor(
    readonly grant: (token: LimitToken) => void,
    readonly refuse: (error: unknown) => void,
  ) {}
}

/** The quiet time before fail-fast is counted in this many timer steps. */
const STEPS = 10;

/**
 * Callers waiting for a slot of a concurrency limit, oldest first, at most `maxQueue`. Each
 * call that ends hands the slots it frees to the oldest waiters. A waiter is never refused
 * for its age: when no call has ended for `failFastMs` (the work behind the limit stopped
 * answering), every waiter is refused at once, as Linkerd's fail-fast does.
 *
 * That quiet time is counted in steps of a tenth of `failFastMs`, one per firing of a
 * repeating timer, however late it fires: a process that waits for its CPU counts only the
 * time it could watch, and between two steps its event loop has read whatever answers had
 * arrived. By the wall clock, a process off its CPU for a second (a busy machine, or a GC
 * pause stretched by one) would find its healthy upstream silent for that second and
 * refuse the very callers the queue is there to absorb.
 */
export class SlotQueue {
  #head: Waiter | undefined = undefined;
  #tail: Waiter | undefined = undefined;
  #length = 0;
  /** Runs while callers wait. */
  #timer: ReturnType<typeof setInterval> | undefined = undefined;
  /** Steps since a call last ended (or since the queue was last empty). */
  #quietSteps = 0;

  constructor(
    private readonly limit: ConcurrencyLimit,
    readonly maxQueue: number,
    private readonly failFastMs: number,
    /** The error for each waiter refused by fail-fast; counted by the caller. */
    private readonly stalledError: () => Error,
  ) {}

  get length(): number {
    return this.#length;
  }

  /** Undefined when the queue is full; otherwise a token once a slot frees. */
  wait(signal?: AbortSignal): Promise<LimitToken> | undefined {
    if (this.#length >= this.maxQueue) return undefined;
    if (signal?.aborted)
      return Promise.reject(new AbortedError(undefined, { cause: signal.reason }));
    return new Promise<LimitToken>((resolve, reject) => {
      const waiter = new Waiter(resolve, reject);
      this.#enqueue(waiter);
      if (signal !== undefined) {
        const onAbort = (): void => {
          this.#dequeue(waiter);
          reject(new AbortedError(undefined, { cause: signal.reason }));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        waiter.stopListening = () => signal.removeEventListener('abort', onAbort);
      }
      if (this.#timer === undefined) {
        this.#quietSteps = 0;
        this.#timer = setInterval(() => this.#step(), this.failFastMs / STEPS);
      }
      this.#serve();
    });
  }

  /** A call admitted by the limit ended (whatever its outcome): serve the oldest waiters. */
  ended(): void {
    if (this.#head === undefined) return;
    this.#quietSteps = 0;
    this.#serve();
  }

  #serve(): void {
    for (let waiter = this.#head; waiter !== undefined; waiter = this.#head) {
      const token = this.limit.tryAcquire();
      if (token === undefined) return;
      this.#dequeue(waiter);
      waiter.grant(token);
    }
  }

  #step(): void {
    if (++this.#quietSteps < STEPS) return;
    for (let waiter = this.#head; waiter !== undefined; waiter = this.#head) {
      this.#dequeue(waiter);
      waiter.refuse(this.stalledError());
    }
  }

  #enqueue(waiter: Waiter): void {
    waiter.prev = this.#tail;
    if (this.#tail !== undefined) this.#tail.next = waiter;
    else this.#head = waiter;
    this.#tail = waiter;
    this.#length++;
  }

  #dequeue(waiter: Waiter): void {
    if (waiter.prev !== undefined) waiter.prev.next = waiter.next;
    else this.#head = waiter.next;
    if (waiter.next !== undefined) waiter.next.prev = waiter.prev;
    else this.#tail = waiter.prev;
    waiter.prev = undefined;
    waiter.next = undefined;
    waiter.stopListening();
    this.#length--;
    if (this.#length === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}
