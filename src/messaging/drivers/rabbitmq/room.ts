import { QueueFullError } from '../../../core/errors.js';

interface Estimate {
  stored: number;
  readonly at: number;
}

/** How long a measured depth may stand in for a fresh one while far below the limit. */
const freshMs = 1_000;

/**
 * RabbitMQ's own x-max-length counts ready messages only and cannot refuse a batch as a
 * whole, so the driver checks room itself: ready (from queue.declare-ok) plus what this
 * driver holds unacknowledged, plus the batch. A fresh count is taken unless a recent one
 * shows the queue under half full; producers in other processes can overshoot by what
 * they publish between two counts.
 */
export class RoomCheck {
  readonly #estimates = new Map<string, Estimate>();
  /** One count at a time per queue: concurrent publishes share it. */
  readonly #counting = new Map<string, Promise<Estimate>>();

  /**
   * Undefined when a recent count already shows room (the common case, decided without a
   * promise); otherwise a promise that counts first and rejects with QueueFullError.
   */
  check(
    queue: string,
    label: string,
    incoming: number,
    maxLength: number,
    count: (queue: string) => Promise<number>,
  ): Promise<void> | undefined {
    const estimate = this.#estimates.get(queue);
    if (
      estimate !== undefined &&
      Date.now() - estimate.at <= freshMs &&
      (estimate.stored + incoming) * 2 <= maxLength
    ) {
      estimate.stored += incoming;
      return undefined;
    }
    return this.#measure(queue, count).then((measured) => {
      if (measured.stored + incoming > maxLength) {
        throw new QueueFullError(
          `queue ${label} holds ${measured.stored} of at most ${maxLength} messages`,
        );
      }
      measured.stored += incoming;
    });
  }

  #measure(queue: string, count: (queue: string) => Promise<number>): Promise<Estimate> {
    let counting = this.#counting.get(queue);
    if (counting === undefined) {
      const at = Date.now();
      counting = count(queue)
        .then((stored) => {
          const estimate = { stored, at };
          this.#estimates.set(queue, estimate);
          return estimate;
        })
        .finally(() => this.#counting.delete(queue));
      this.#counting.set(queue, counting);
    }
    return counting;
  }
}
