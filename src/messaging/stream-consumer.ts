import { InvalidArgumentError } from '../core/errors.js';
import { sleep } from '../core/signals.js';
import { type Backoff, exponentialBackoff } from '../resilience/backoff.js';
import { messagingChannels } from './diagnostics.js';
import type { StreamEntryRecord } from './driver.js';
import { isNonRetryableError } from './errors.js';
import type { Consumer, HandlerContext, RetryOptions, StopOptions } from './types.js';
import { knownKeys, nonNegative, oneOf, positiveInt } from './validate.js';

export interface StreamConsumeOptions {
  /** Where a group with no committed offset starts. Default `'earliest'`. */
  start?: 'earliest' | 'latest';
  /** Entries read at a time; the group's offset is committed after each page. Default 100. */
  batch?: number;
  /** Delay before trying a failed entry again. Default exponential 200 ms .. 30 s, jittered. */
  retry?: Backoff | RetryOptions;
  /**
   * Tries of one entry before the consumer stops on it, leaving the group's offset there
   * (a NonRetryableError stops it at once). Default 5.
   */
  maxAttempts?: number;
  /** Slow fallback for wake-ups that a driver could not signal. Default 1 s. */
  pollInterval?: number;
  /** Aborting stops the consumer (with the default drain timeout). */
  signal?: AbortSignal;
}

export interface StreamConsumer extends Consumer {
  /** Why the consumer stopped by itself: the error of an entry that failed `maxAttempts` times. */
  readonly failure: unknown;
}

interface Config {
  readonly start: 'earliest' | 'latest';
  readonly batch: number;
  readonly backoff: Backoff;
  readonly maxAttempts: number;
  readonly pollMs: number;
  readonly signal: AbortSignal | undefined;
}

const defaultDrainMs = 30_000;

export function resolveStreamConsumeOptions(options: StreamConsumeOptions | undefined): Config {
  knownKeys('stream consume option', options, [
    'start',
    'batch',
    'retry',
    'maxAttempts',
    'pollInterval',
    'signal',
  ]);
  const o = options ?? {};
  const batch = positiveInt('batch', o.batch, 100);
  if (batch > 10_000) throw new InvalidArgumentError(`batch must be <= 10000, got ${batch}`);
  if (o.retry !== undefined && typeof o.retry !== 'function' && typeof o.retry !== 'object') {
    throw new InvalidArgumentError(
      'retry must be a backoff function or exponential backoff options',
    );
  }
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    throw new InvalidArgumentError('signal must be an AbortSignal');
  }
  return {
    start: oneOf('start', o.start, ['earliest', 'latest'], 'earliest'),
    batch,
    backoff:
      typeof o.retry === 'function'
        ? o.retry
        : exponentialBackoff({ initialDelay: 200, maxDelay: 30_000, ...o.retry }),
    maxAttempts: positiveInt('maxAttempts', o.maxAttempts, 5),
    pollMs: Math.max(5, nonNegative('pollInterval', o.pollInterval, 1000)),
    signal: o.signal,
  };
}

/** What the loop needs of the stream and its group. */
export interface GroupLog<E> {
  readonly source: string;
  committed(): Promise<number | undefined>;
  commit(nextOffset: number): Promise<void>;
  position(from: 'earliest' | 'latest'): Promise<number>;
  read(fromOffset: number, limit: number): Promise<StreamEntryRecord[]>;
  onAppend(listener: () => void): () => void;
  toEntry(record: StreamEntryRecord): E;
}

/**
 * A consumer group reading a stream like a topic subscription: entries in offset order,
 * one at a time, each retried with backoff when its handler fails; the group's offset is
 * committed after each page and on stop, so a restarted consumer resumes after the last
 * entry handled (at-least-once: up to one page again after a crash). An entry that fails
 * `maxAttempts` times stops the consumer with the group's offset on that entry: nothing is
 * skipped. One consumer per group at a time: two would each read every entry.
 */
export class StreamGroupConsumer<E> implements StreamConsumer {
  readonly closed: Promise<void>;
  readonly #log: GroupLog<E>;
  readonly #handler: (entry: E, context: HandlerContext) => unknown;
  readonly #config: Config;
  /** Aborted when the drain timeout runs out: the running handler's signal. */
  readonly #hardStop = new AbortController();
  /** Aborted on stop: ends waits for new entries and retry delays. */
  readonly #stopping = new AbortController();
  #active = 0;
  #buffered = 0;
  #failure: unknown;
  #wake: (() => void) | undefined;
  #loop: Promise<void> = Promise.resolve();
  #stopped: Promise<void> | undefined;
  readonly #closedResolve: () => void;

  constructor(
    log: GroupLog<E>,
    handler: (entry: E, context: HandlerContext) => unknown,
    config: Config,
  ) {
    this.#log = log;
    this.#handler = handler;
    this.#config = config;
    let resolve!: () => void;
    this.closed = new Promise<void>((r) => {
      resolve = r;
    });
    this.#closedResolve = resolve;
  }

  get active(): number {
    return this.#active;
  }

  get buffered(): number {
    return this.#buffered;
  }

  get failure(): unknown {
    return this.#failure;
  }

  start(): void {
    const { signal } = this.#config;
    if (signal?.aborted) {
      void this.stop();
      return;
    }
    signal?.addEventListener('abort', () => void this.stop(), { once: true });
    this.#loop = this.#run()
      .catch((error: unknown) => {
        this.#failure ??= error;
        this.#report('read', error);
      })
      .finally(() => {
        this.#stopping.abort();
        this.#closedResolve();
      });
  }

  stop(options: StopOptions = {}): Promise<void> {
    this.#stopped ??= (async () => {
      this.#stopping.abort();
      this.#wake?.();
      const drainMs = options.drainTimeout ?? defaultDrainMs;
      const timer = setTimeout(() => this.#hardStop.abort(), drainMs);
      try {
        await this.#loop;
      } finally {
        clearTimeout(timer);
        this.#closedResolve();
      }
    })();
    return this.#stopped;
  }

  async #run(): Promise<void> {
    const log = this.#log;
    let next = -1;
    let committed = -1;
    let appended = false;
    let failedReads = 0;
    const unsubscribe = log.onAppend(() => {
      appended = true;
      this.#wake?.();
    });
    const commit = async () => {
      if (next === committed) return;
      const offset = next;
      try {
        await log.commit(offset);
        committed = offset;
      } catch (error) {
        // Committed again after the next page: until then a restart repeats these entries.
        this.#report('commit', error);
      }
    };
    try {
      while (!this.#stopping.signal.aborted) {
        appended = false;
        let page: StreamEntryRecord[];
        try {
          if (next < 0) {
            next = (await log.committed()) ?? (await log.position(this.#config.start));
            committed = next;
          }
          page = await log.read(next, this.#config.batch);
          failedReads = 0;
        } catch (error) {
          // The engine may be down: try again, backing off while it fails.
          this.#report('read', error);
          failedReads++;
          await this.#idle(Math.min(this.#config.pollMs, 50 * 2 ** Math.min(failedReads, 7)));
          continue;
        }
        this.#buffered = page.length;
        for (const record of page) {
          if (this.#stopping.signal.aborted) break;
          this.#buffered--;
          if (!(await this.#handle(record))) break;
          next = record.offset + 1;
        }
        this.#buffered = 0;
        await commit();
        if (this.#failure !== undefined) return;
        if (page.length < this.#config.batch && !appended) await this.#idle(this.#config.pollMs);
      }
    } finally {
      unsubscribe();
      await commit();
    }
  }

  /** True once the handler succeeded; false when it was stopped, or failed for good. */
  async #handle(record: StreamEntryRecord): Promise<boolean> {
    let entry: E;
    try {
      entry = this.#log.toEntry(record);
    } catch (error) {
      // A body that is not JSON will not become one on a retry.
      this.#failure = error;
      this.#report('handle', error);
      return false;
    }
    let previousDelay = 0;
    for (let attempt = 1; ; attempt++) {
      this.#active = 1;
      try {
        return await this.#untilHardStop(entry);
      } catch (error) {
        if (this.#hardStop.signal.aborted) return false;
        if (attempt >= this.#config.maxAttempts || isNonRetryableError(error)) {
          this.#failure = error;
          this.#report('handle', error);
          return false;
        }
        previousDelay = this.#config.backoff(attempt, previousDelay);
        this.#active = 0;
        try {
          await sleep(previousDelay, { signal: this.#stopping.signal });
        } catch {
          return false;
        }
      } finally {
        this.#active = 0;
      }
    }
  }

  /**
   * True once the handler finished; false when the drain timeout ran out first: the entry
   * is left uncommitted, and its handler (told through its signal) is not waited for.
   */
  #untilHardStop(entry: E): Promise<boolean> {
    const { signal } = this.#hardStop;
    return new Promise<boolean>((resolve, reject) => {
      const onAbort = () => resolve(false);
      signal.addEventListener('abort', onAbort, { once: true });
      new Promise((run) => run(this.#handler(entry, { signal }))).then(
        () => {
          signal.removeEventListener('abort', onAbort);
          resolve(true);
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      );
    });
  }

  #idle(ms: number): Promise<void> {
    if (this.#stopping.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = () => {
        this.#wake = undefined;
        done();
      };
    });
  }

  #report(operation: 'read' | 'handle' | 'commit', error: unknown): void {
    if (messagingChannels.consumerError.hasSubscribers) {
      messagingChannels.consumerError.publish({ source: this.#log.source, operation, error });
    }
  }
}
