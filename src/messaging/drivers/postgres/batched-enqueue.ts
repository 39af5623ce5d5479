import type { EnqueueOptions, EnqueueOutcome, OutgoingRecord } from '../../driver.js';
import { GroupCommit, type Lane } from '../group-commit.js';

/** Stores a batch in one statement; undefined when the queue may be near full. */
export type FastEnqueue = (
  queue: string,
  records: readonly OutgoingRecord[],
  options: EnqueueOptions,
) => Promise<EnqueueOutcome[] | undefined>;
/** Stores a batch exactly (counting, dropping or refusing). */
export type SlowEnqueue = FastEnqueue extends (...a: infer A) => unknown
  ? (...a: A) => Promise<EnqueueOutcome[]>
  : never;

interface QueueLane extends Lane {
  readonly queue: string;
  readonly options: EnqueueOptions;
}

export interface BatchedEnqueue {
  enqueue(
    queue: string,
    records: readonly OutgoingRecord[],
    options: EnqueueOptions,
  ): Promise<EnqueueOutcome[]>;
}

/**
 * Queue publishes by group commit: calls for the same queue and options made in one turn
 * of the event loop, or while earlier ones are being written (up to four statements at
 * once), are stored together in one statement and one commit, at most 2,000 records each,
 * so throughput is bounded by batching rather than by one commit per publish.
 */
export function batchedEnqueue(fast: FastEnqueue, slow: SlowEnqueue): BatchedEnqueue {
  const commit = new GroupCommit<QueueLane, readonly OutgoingRecord[], EnqueueOutcome[]>(
    async ({ queue, options }, batches) => {
      const all = batches.length === 1 ? batches[0]! : batches.flat();
      const outcomes = await fast(queue, all, options);
      if (outcomes === undefined) {
        // Near full: each call on its own, in order, so one caller's refusal is not another's.
        const results: (EnqueueOutcome[] | Error)[] = [];
        for (const records of batches) {
          results.push(
            await slow(queue, records, options).catch((error: unknown) =>
              error instanceof Error ? error : new Error(String(error)),
            ),
          );
        }
        return results;
      }
      if (batches.length === 1) return [outcomes];
      let at = 0;
      return batches.map((records) => {
        const n = records.length;
        at += n;
        return n === 1 ? [outcomes[at - 1]!] : outcomes.slice(at - n, at);
      });
    },
    { maxInFlight: 4, gather: true, maxSize: 2000, sizeOf: (records) => records.length },
  );
  return { enqueue: (queue, records, options) => commit.enqueue(laneOf(queue, options), records) };
}

/** Lanes by the options object a producer passes on every publish, then by queue. */
const lanes = new WeakMap<EnqueueOptions, Map<string, QueueLane>>();

/** The lane of a queue and its limits, made once per producer rather than per publish. */
function laneOf(queue: string, options: EnqueueOptions): QueueLane {
  let byQueue = lanes.get(options);
  if (byQueue === undefined) {
    byQueue = new Map();
    lanes.set(options, byQueue);
  }
  let lane = byQueue.get(queue);
  if (lane === undefined) {
    const { dedupeWindowMs, maxLength, overflow } = options;
    lane = {
      lane: `${queue}\u0000${dedupeWindowMs}\u0000${maxLength}\u0000${overflow}`,
      queue,
      options,
    };
    byQueue.set(queue, lane);
  }
  return lane;
}
