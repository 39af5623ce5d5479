import type { EnqueueOutcome } from '../../driver.js';

interface Waiter {
  readonly args: readonly (string | number)[];
  readonly resolve: (outcomes: EnqueueOutcome[]) => void;
  readonly reject: (error: unknown) => void;
}

interface Lane {
  /** Arguments shared by every batch of the lane (target keys and limits). */
  readonly head: readonly (string | number)[];
  readonly route: string;
  waiting: Waiter[];
  inFlight: number;
}

/** Sends one script call with several batches; returns per batch the 0/1 outcomes or an error. */
export type SendBatches = (
  route: string,
  args: (string | number)[],
) => Promise<(number[] | string)[]>;

/**
 * Group commit: while `maxInFlight` enqueue calls for a target are in flight, later
 * publishes to the same target (with the same limits) wait and then travel together in the
 * next call. An idle target sends at once, so batching costs no latency; a busy one needs
 * one round trip per wave instead of one per publish. Calls on one connection run in the
 * order sent, so a producer's publishes keep their order.
 *
 * One call in flight is the default: Redis runs a connection's calls one after another,
 * so more calls in flight save a round trip at most, while they split the waiting
 * publishes into smaller batches; and each script call has a fixed cost (a socket write
 * and read here, the script's own reads and its wake-up PUBLISH on the server) that a
 * larger batch shares.
 */
export class GroupCommit {
  readonly #lanes = new Map<string, Lane>();

  constructor(
    private readonly send: SendBatches,
    private readonly toError: (message: string) => Error,
    private readonly maxInFlight = 1,
  ) {}

  enqueue(
    route: string,
    head: readonly (string | number)[],
    args: readonly (string | number)[],
  ): Promise<EnqueueOutcome[]> {
    const laneKey = head.join('\u0000');
    let lane = this.#lanes.get(laneKey);
    if (lane === undefined) {
      lane = { head, route, waiting: [], inFlight: 0 };
      this.#lanes.set(laneKey, lane);
    }
    const promise = new Promise<EnqueueOutcome[]>((resolve, reject) => {
      lane.waiting.push({ args, resolve, reject });
    });
    if (lane.inFlight < this.maxInFlight) void this.#drain(laneKey, lane);
    return promise;
  }

  async #drain(laneKey: string, lane: Lane): Promise<void> {
    lane.inFlight++;
    while (lane.waiting.length > 0) {
      const batch = lane.waiting;
      lane.waiting = [];
      const args: (string | number)[] = [...lane.head];
      for (const waiter of batch) for (const a of waiter.args) args.push(a);
      try {
        const results = await this.send(lane.route, args);
        batch.forEach((waiter, i) => {
          const result = results[i];
          if (typeof result === 'string' || result === undefined) {
            waiter.reject(this.toError(result ?? 'no result for this batch'));
          } else {
            waiter.resolve(result.map((r) => (r === 1 ? 'stored' : 'duplicate')));
          }
        });
      } catch (error) {
        for (const waiter of batch) waiter.reject(error);
      }
    }
    lane.inFlight--;
    if (lane.inFlight === 0) this.#lanes.delete(laneKey);
  }
}
