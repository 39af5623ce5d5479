/** Where batches go: batches with the same `lane` may travel in one call. */
export interface Lane {
  readonly lane: string;
}

/** Sends several batches in one call; returns per batch its result, or the error that settles it. */
export type SendBatches<L extends Lane, B, R> = (
  lane: L,
  batches: readonly B[],
) => Promise<readonly (R | Error)[]>;

interface Waiter<B, R> {
  readonly batch: B;
  readonly resolve: (result: R) => void;
  readonly reject: (error: unknown) => void;
}

interface Queue<L, B, R> {
  readonly lane: L;
  waiting: Waiter<B, R>[];
  inFlight: number;
}

/**
 * Group commit: while `maxInFlight` calls for a lane (a target with its limits) are in
 * flight, later batches for it wait and then travel together in the next call. An idle lane
 * sends at once, so batching costs no latency; a busy one needs one round trip per wave
 * instead of one per publish. Calls on one connection run in the order sent, so a
 * producer's publishes keep their order.
 *
 * One call in flight is the default: Redis runs a connection's calls one after another,
 * so more calls in flight save a round trip at most, while they split the waiting
 * publishes into smaller batches; and each script call has a fixed cost (a socket write
 * and read here, the script's own reads and its wake-up PUBLISH on the server) that a
 * larger batch shares.
 */
export class GroupCommit<L extends Lane, B, R> {
  readonly #queues = new Map<string, Queue<L, B, R>>();

  constructor(
    private readonly send: SendBatches<L, B, R>,
    private readonly maxInFlight = 1,
  ) {}

  enqueue(lane: L, batch: B): Promise<R> {
    let queue = this.#queues.get(lane.lane);
    if (queue === undefined) {
      queue = { lane, waiting: [], inFlight: 0 };
      this.#queues.set(lane.lane, queue);
    }
    const waiting = queue.waiting;
    const promise = new Promise<R>((resolve, reject) => {
      waiting.push({ batch, resolve, reject });
    });
    if (queue.inFlight < this.maxInFlight) void this.#drain(queue);
    return promise;
  }

  async #drain(queue: Queue<L, B, R>): Promise<void> {
    queue.inFlight++;
    while (queue.waiting.length > 0) {
      const waiters = queue.waiting;
      queue.waiting = [];
      try {
        const results = await this.send(
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
    if (queue.inFlight === 0) this.#queues.delete(queue.lane.lane);
  }
}
