/** Where batches go: batches with the same `lane` may travel in one call. */
export interface Lane {
  readonly lane: string;
}

/** Sends several batches in one call; returns per batch its result, or the error that settles it. */
export type SendBatches<L extends Lane, B, R> = (
  lane: L,
  batches: readonly B[],
) => Promise<readonly (R | Error)[]>;

export interface GroupCommitOptions<B> {
  /** Calls in flight per lane at once. Default 1. */
  readonly maxInFlight?: number;
  /**
   * Wait one turn of the event loop before a lane's first call, so the batches made
   * together travel together. Default false: an idle lane sends at once.
   */
  readonly gather?: boolean;
  /** With `sizeOf`: what one call carries at most (a single larger batch still goes alone). */
  readonly maxSize?: number;
  readonly sizeOf?: (batch: B) => number;
}

interface Waiter<B, R> {
  readonly batch: B;
  readonly resolve: (result: R) => void;
  readonly reject: (error: unknown) => void;
}

interface Queue<L, B, R> {
  readonly lane: L;
  waiting: Waiter<B, R>[];
  inFlight: number;
  scheduled: boolean;
}

/**
 * Group commit: while `maxInFlight` calls for a lane (a target with its limits) are in
 * flight, later batches for it wait and then travel together in the next call, so a busy
 * lane needs one round trip (one statement, one commit, one script call) per wave instead
 * of one per publish. Calls run in the order the batches came, so a producer's publishes
 * keep their order. Each caller gets its own result, or the error of the call that
 * carried its batch.
 */
export class GroupCommit<L extends Lane, B, R> {
  readonly #queues = new Map<string, Queue<L, B, R>>();
  readonly #send: SendBatches<L, B, R>;
  readonly #maxInFlight: number;
  readonly #gather: boolean;
  readonly #maxSize: number;
  readonly #sizeOf: ((batch: B) => number) | undefined;

  constructor(send: SendBatches<L, B, R>, options: GroupCommitOptions<B> = {}) {
    this.#send = send;
    this.#maxInFlight = options.maxInFlight ?? 1;
    this.#gather = options.gather ?? false;
    this.#sizeOf = options.sizeOf;
    this.#maxSize = options.maxSize ?? Number.POSITIVE_INFINITY;
  }

  enqueue(lane: L, batch: B): Promise<R> {
    let queue = this.#queues.get(lane.lane);
    if (queue === undefined) {
      queue = { lane, waiting: [], inFlight: 0, scheduled: false };
      this.#queues.set(lane.lane, queue);
    }
    const waiting = queue.waiting;
    const promise = new Promise<R>((resolve, reject) => {
      waiting.push({ batch, resolve, reject });
    });
    if (queue.inFlight < this.#maxInFlight) this.#start(queue);
    return promise;
  }

  #start(queue: Queue<L, B, R>): void {
    if (!this.#gather) {
      void this.#drain(queue);
      return;
    }
    if (queue.scheduled) return;
    queue.scheduled = true;
    setImmediate(() => {
      queue.scheduled = false;
      if (queue.waiting.length > 0) void this.#drain(queue);
      else if (queue.inFlight === 0) this.#queues.delete(queue.lane.lane);
    });
  }

  async #drain(queue: Queue<L, B, R>): Promise<void> {
    queue.inFlight++;
    while (queue.waiting.length > 0) {
      const waiters = this.#take(queue);
      try {
        const results = await this.#send(
          queue.lane,
          waiters.map((w) => w.batch),
        );
        waiters.forEach((waiter, i) => {
          const result = results[i];
          if (result === undefined) waiter.reject(new Error('no result for this batch'));
          else if (result instanceof Error) waiter.reject(result);
          else waiter.resolve(result);
        });
      } catch (error) {
        for (const waiter of waiters) waiter.reject(error);
      }
    }
    queue.inFlight--;
    if (queue.inFlight === 0 && !queue.scheduled) this.#queues.delete(queue.lane.lane);
  }

  /** The waiting batches for the next call: all, or as many as fit in `maxSize`. */
  #take(queue: Queue<L, B, R>): Waiter<B, R>[] {
    const sizeOf = this.#sizeOf;
    if (sizeOf === undefined) {
      const all = queue.waiting;
      queue.waiting = [];
      return all;
    }
    let size = sizeOf(queue.waiting[0]!.batch);
    let n = 1;
    while (n < queue.waiting.length) {
      const next = sizeOf(queue.waiting[n]!.batch);
      if (size + next > this.#maxSize) break;
      size += next;
      n++;
    }
    return queue.waiting.splice(0, n);
  }
}
