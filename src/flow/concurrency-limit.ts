import type { Clock } from '../core/clock.js';
import { channels } from '../core/diagnostics.js';
import { monotonicClock } from './rate-limiter.js';

/** One admitted call. Release it exactly once; later calls are ignored. */
export interface LimitToken {
  /** The call completed; its latency is a sample for adaptive limits. */
  success(): void;
  /** The call timed out or was rejected downstream for overload: a congestion signal. */
  dropped(): void;
  /** Release without a sample (e.g. the call failed fast for reasons unrelated to load). */
  ignore(): void;
}

export interface ConcurrencyLimit {
  readonly name: string;
  readonly limit: number;
  readonly inflight: number;
  /** A token when a slot is free, otherwise undefined; never waits. */
  tryAcquire(): LimitToken | undefined;
}

export interface LimitSample {
  /** Milliseconds between acquire and release. */
  rttMs: number;
  /** The limit's clock at release (ms); the call started at `now - rttMs`. */
  now: number;
  /** Calls in flight when this one was admitted, itself included. */
  inflight: number;
  dropped: boolean;
}

/** How an adaptive limit moves: fed one sample per released token, returns the new limit. */
export interface LimitAlgorithm {
  readonly initial: number;
  update(sample: LimitSample): number;
}

export interface ConcurrencyLimitOptions {
  name?: string;
  clock?: Clock;
}

const IGNORE = 0;
const SUCCESS = 1;
const DROPPED = 2;

class Token implements LimitToken {
  #released = false;

  constructor(
    private readonly owner: Limiter,
    private readonly startedAt: number,
    private readonly inflightAtStart: number,
  ) {}

  success(): void {
    this.#release(SUCCESS);
  }

  dropped(): void {
    this.#release(DROPPED);
  }

  ignore(): void {
    this.#release(IGNORE);
  }

  #release(outcome: number): void {
    if (this.#released) return;
    this.#released = true;
    this.owner.release(outcome, this.startedAt, this.inflightAtStart);
  }
}

class Limiter implements ConcurrencyLimit {
  #limit: number;
  #inflight = 0;

  constructor(
    readonly name: string,
    private readonly algorithm: LimitAlgorithm,
    private readonly clock: Clock,
  ) {
    this.#limit = whole(algorithm.initial);
  }

  get limit(): number {
    return this.#limit;
  }

  get inflight(): number {
    return this.#inflight;
  }

  tryAcquire(): LimitToken | undefined {
    if (this.#inflight >= this.#limit) return undefined;
    this.#inflight++;
    return new Token(this, this.clock.now(), this.#inflight);
  }

  release(outcome: number, startedAt: number, inflight: number): void {
    this.#inflight--;
    if (outcome === IGNORE) return;
    const now = this.clock.now();
    const rttMs = Math.max(0, now - startedAt);
    const next = whole(
      this.algorithm.update({ rttMs, now, inflight, dropped: outcome === DROPPED }),
    );
    if (next === this.#limit) return;
    this.#limit = next;
    if (channels.concurrencyLimit.hasSubscribers) {
      channels.concurrencyLimit.publish({ name: this.name, limit: next, inflight: this.#inflight });
    }
  }
}

function whole(limit: number): number {
  return Math.max(1, Math.floor(limit));
}

/** A concurrency limit driven by any LimitAlgorithm. */
export function concurrencyLimit(
  algorithm: LimitAlgorithm,
  options: ConcurrencyLimitOptions = {},
): ConcurrencyLimit {
  return new Limiter(options.name ?? 'default', algorithm, options.clock ?? monotonicClock);
}
