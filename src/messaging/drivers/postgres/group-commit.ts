import type { EnqueueOptions, EnqueueOutcome, OutgoingRecord } from '../../driver.js';

interface Job {
  readonly records: readonly OutgoingRecord[];
  resolve(outcomes: EnqueueOutcome[]): void;
  reject(error: unknown): void;
}

interface Group {
  readonly queue: string;
  readonly options: EnqueueOptions;
  readonly jobs: Job[];
}

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

const maxFlights = 4;
const maxRecords = 2000;

/**
 * Group commit for queue publishes: calls for the same queue and options that arrive while
 * earlier ones are being written are stored together in one statement and one commit, so
 * throughput is bounded by batching rather than by one WAL flush per publish. Each caller
 * still gets its own outcomes, or the error of the statement that carried its records.
 */
export class GroupCommit {
  readonly #fast: FastEnqueue;
  readonly #slow: SlowEnqueue;
  readonly #groups = new Map<string, Group>();
  readonly #flights = new Map<string, number>();
  readonly #scheduled = new Set<string>();

  constructor(fast: FastEnqueue, slow: SlowEnqueue) {
    this.#fast = fast;
    this.#slow = slow;
  }

  enqueue(
    queue: string,
    records: readonly OutgoingRecord[],
    options: EnqueueOptions,
  ): Promise<EnqueueOutcome[]> {
    const key = `${queue}\u0000${options.dedupeWindowMs}\u0000${options.maxLength}\u0000${options.overflow}`;
    return new Promise((resolve, reject) => {
      let group = this.#groups.get(key);
      if (group === undefined) {
        group = { queue, options, jobs: [] };
        this.#groups.set(key, group);
      }
      group.jobs.push({ records, resolve, reject });
      this.#schedule(key);
    });
  }

  #schedule(key: string): void {
    if ((this.#flights.get(key) ?? 0) >= maxFlights || this.#scheduled.has(key)) return;
    this.#scheduled.add(key);
    // One turn of the event loop gathers the publishes made together.
    setImmediate(() => {
      this.#scheduled.delete(key);
      void this.#flush(key);
    });
  }

  async #flush(key: string): Promise<void> {
    const group = this.#groups.get(key);
    if (group === undefined) return;
    const jobs: Job[] = [];
    let count = 0;
    while (
      group.jobs.length > 0 &&
      (jobs.length === 0 || count + group.jobs[0]!.records.length <= maxRecords)
    ) {
      const job = group.jobs.shift()!;
      jobs.push(job);
      count += job.records.length;
    }
    if (group.jobs.length === 0) this.#groups.delete(key);
    this.#flights.set(key, (this.#flights.get(key) ?? 0) + 1);
    try {
      await this.#write(group, jobs);
    } finally {
      const left = (this.#flights.get(key) ?? 1) - 1;
      if (left === 0) this.#flights.delete(key);
      else this.#flights.set(key, left);
      if (this.#groups.has(key)) this.#schedule(key);
    }
  }

  async #write(group: Group, jobs: readonly Job[]): Promise<void> {
    let all = jobs[0]!.records;
    if (jobs.length > 1) {
      const joined: OutgoingRecord[] = [];
      for (const job of jobs) for (const record of job.records) joined.push(record);
      all = joined;
    }
    let outcomes: EnqueueOutcome[] | undefined;
    try {
      outcomes = await this.#fast(group.queue, all, group.options);
    } catch (error) {
      for (const job of jobs) job.reject(error);
      return;
    }
    if (outcomes === undefined) {
      // Near full: each call on its own, in order, so one caller's refusal is not another's.
      for (const job of jobs) {
        await this.#slow(group.queue, job.records, group.options).then(job.resolve, job.reject);
      }
      return;
    }
    if (jobs.length === 1) {
      jobs[0]!.resolve(outcomes);
      return;
    }
    let at = 0;
    for (const job of jobs) {
      const n = job.records.length;
      job.resolve(n === 1 ? [outcomes[at]!] : outcomes.slice(at, at + n));
      at += n;
    }
  }
}
