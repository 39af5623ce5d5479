import { type Clock, systemClock } from '../core/clock.js';
import {
  type BreakerCallEvent,
  type BreakerStateEvent,
  type CircuitState,
  channels,
  trackBreaker,
} from '../core/diagnostics.js';
import { CircuitOpenError, InvalidArgumentError } from '../core/errors.js';
import { PolicyBase } from './base.js';
import type { ExecutionContext } from './context.js';
import { invoke } from './invoke.js';
import { runIn, type Work } from './policy.js';
import { CountWindow, FAILURE, type OutcomeWindow, SLOW, TimeWindow } from './window.js';

export type BreakerWindow =
  | { type: 'count'; size: number }
  | { type: 'time'; durationMs: number; buckets?: number };

export interface CircuitBreakerOptions {
  name?: string;
  /** Opens after this many failures in a row (alone, or beside a window). */
  consecutiveFailures?: number;
  /** Default `{ type: 'count', size: 100 }` unless only `consecutiveFailures` is given. */
  window?: BreakerWindow;
  /** Percent of failed calls in the window that opens the circuit; default 50. */
  failureRateThreshold?: number;
  /** Percent of slow calls in the window that opens the circuit; default 100. */
  slowCallRateThreshold?: number;
  /** Calls at least this long are slow; slow calls are not tracked unless it is set. */
  slowCallDurationMs?: number;
  /** Calls the window must hold before its rates count; default 20. */
  minimumCalls?: number;
  /** Default 30 s. */
  openDurationMs?: number;
  /** Each consecutive opening lasts `factor` times longer, up to `max` ms. */
  openDurationGrowth?: { factor: number; max: number };
  /**
   * Calls let through in half-open (default 5). The failure and slow rates over them
   * decide: closed once all succeed well enough, open as soon as enough have failed.
   */
  halfOpenMaxProbes?: number;
  /** Errors that count against the dependency; the others count as successes. */
  isFailure?: (error: unknown) => boolean;
  /** Default: the system clock (wall time, so `toJSON()` stays meaningful elsewhere). */
  clock?: Clock;
  /** A snapshot from `toJSON()` to resume from. */
  initialState?: CircuitBreakerSnapshot;
}

export interface CircuitBreakerSnapshot {
  state: CircuitState;
  /** Clock time at which an open circuit turns half-open. */
  openUntil?: number;
  /** Consecutive openings, which drive `openDurationGrowth`. */
  opens?: number;
}

const states: readonly CircuitState[] = ['closed', 'open', 'half-open', 'isolated'];

export type StateChangeListener = (event: BreakerStateEvent) => void;

export class CircuitBreaker extends PolicyBase {
  readonly name: string;
  private current: CircuitState = 'closed';
  /** Bumped on every transition: outcomes of calls admitted under an older state are dropped. */
  private generation = 0;
  private openUntil = 0;
  private opens = 0;
  private consecutive = 0;
  private probesStarted = 0;
  private probeCalls = 0;
  private probeFailures = 0;
  private probeSlow = 0;
  private readonly window: OutcomeWindow | undefined;
  private readonly consecutiveLimit: number;
  private readonly failureRate: number;
  private readonly slowRate: number;
  private readonly slowMs: number;
  private readonly minimumCalls: number;
  private readonly openMs: number;
  private readonly growth: { factor: number; max: number } | undefined;
  private readonly maxProbes: number;
  private readonly isFailure: (error: unknown) => boolean;
  private readonly clock: Clock;
  private readonly timed: boolean;
  private readonly listeners = new Set<StateChangeListener>();

  constructor(options: CircuitBreakerOptions = {}) {
    super();
    this.name = options.name ?? 'default';
    this.consecutiveLimit = options.consecutiveFailures ?? Number.POSITIVE_INFINITY;
    const window =
      options.window ??
      (options.consecutiveFailures === undefined ? { type: 'count', size: 100 } : undefined);
    if (window?.type === 'count') this.window = new CountWindow(positive('size', window.size));
    else if (window?.type === 'time') {
      const buckets = window.buckets ?? 10;
      if (!Number.isInteger(buckets) || buckets < 1) {
        throw new InvalidArgumentError(`window.buckets must be an integer >= 1, got ${buckets}`);
      }
      this.window = new TimeWindow(positive('durationMs', window.durationMs), buckets);
    }
    this.failureRate = percent('failureRateThreshold', options.failureRateThreshold ?? 50);
    this.slowRate = percent('slowCallRateThreshold', options.slowCallRateThreshold ?? 100);
    this.slowMs = options.slowCallDurationMs ?? Number.POSITIVE_INFINITY;
    this.minimumCalls = Math.max(1, options.minimumCalls ?? 20);
    this.openMs = positive('openDurationMs', options.openDurationMs ?? 30_000);
    this.growth = options.openDurationGrowth;
    this.maxProbes = positive('halfOpenMaxProbes', options.halfOpenMaxProbes ?? 5);
    this.isFailure = options.isFailure ?? (() => true);
    this.clock = options.clock ?? systemClock;
    this.timed = this.slowMs !== Number.POSITIVE_INFINITY || window?.type === 'time';
    const initial = options.initialState;
    if (initial !== undefined) {
      if (!states.includes(initial.state)) {
        throw new InvalidArgumentError(`initialState.state must be one of ${states.join(', ')}`);
      }
      this.current = initial.state;
      this.openUntil = initial.openUntil ?? 0;
      this.opens = initial.opens ?? (initial.state === 'open' ? 1 : 0);
    }
    trackBreaker(this);
  }

  /** The current state; an open circuit whose time is up reports (and becomes) half-open. */
  get state(): CircuitState {
    if (this.current === 'open' && this.clock.now() >= this.openUntil) {
      this.toHalfOpen('open duration elapsed');
    }
    return this.current;
  }

  [runIn]<T>(fn: Work<T>, context: ExecutionContext): Promise<T> {
    let generation: number;
    try {
      generation = this.acquire();
    } catch (error) {
      return Promise.reject(error);
    }
    const start = this.timed || channels.breakerCall.hasSubscribers ? this.clock.now() : Number.NaN;
    return invoke(fn, context).then(
      (value) => {
        this.settle(generation, start, 0);
        return value;
      },
      (error: unknown) => {
        // A caller that gave up says nothing about the dependency's health.
        if (context.aborted) this.release(generation);
        else this.settle(generation, start, this.isFailure(error) ? FAILURE : 0);
        throw error;
      },
    );
  }

  /** Holds the circuit open until `reset()`. */
  isolate(): void {
    if (this.current !== 'isolated') this.transition('isolated', 'isolated manually');
  }

  /** Closes the circuit and forgets its history. */
  reset(): void {
    this.close('reset manually');
  }

  onStateChange(listener: StateChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  toJSON(): CircuitBreakerSnapshot {
    const state = this.state;
    return state === 'open'
      ? { state, openUntil: this.openUntil, opens: this.opens }
      : { state, opens: this.opens };
  }

  private acquire(): number {
    if (this.current === 'closed') return this.generation;
    if (this.current === 'open') {
      const now = this.clock.now();
      if (now < this.openUntil) this.reject(this.openUntil - now);
      this.toHalfOpen('open duration elapsed');
    }
    if (this.current === 'half-open' && this.probesStarted < this.maxProbes) {
      this.probesStarted++;
      return this.generation;
    }
    return this.reject(undefined);
  }

  private reject(retryAfter: number | undefined): never {
    if (channels.breakerCall.hasSubscribers) {
      const event: BreakerCallEvent = {
        name: this.name,
        outcome: 'rejected',
        slow: false,
        durationMs: 0,
      };
      channels.breakerCall.publish(event);
    }
    throw new CircuitOpenError(`Circuit breaker "${this.name}" is ${this.current}`, { retryAfter });
  }

  private release(generation: number): void {
    if (generation === this.generation && this.current === 'half-open') this.probesStarted--;
  }

  private settle(generation: number, start: number, flags: number): void {
    const now = Number.isNaN(start) ? 0 : this.clock.now();
    const durationMs = now - start;
    if (durationMs >= this.slowMs) flags |= SLOW;
    if (channels.breakerCall.hasSubscribers) {
      const event: BreakerCallEvent = {
        name: this.name,
        outcome: flags & FAILURE ? 'failure' : 'success',
        slow: (flags & SLOW) !== 0,
        durationMs: Number.isNaN(durationMs) ? 0 : durationMs,
      };
      channels.breakerCall.publish(event);
    }
    if (generation !== this.generation) return;
    if (this.current === 'closed') this.recordClosed(flags, now);
    else if (this.current === 'half-open') this.recordProbe(flags);
  }

  private recordClosed(flags: number, now: number): void {
    this.consecutive = flags & FAILURE ? this.consecutive + 1 : 0;
    if (this.consecutive >= this.consecutiveLimit) {
      this.open(`${this.consecutive} consecutive failures`);
      return;
    }
    const window = this.window;
    if (window === undefined) return;
    window.record(flags, now);
    if (window.calls < this.minimumCalls) return;
    const reason = this.tripReason(window.calls, window.failures, window.slow);
    if (reason !== undefined) this.open(reason);
  }

  private recordProbe(flags: number): void {
    this.probeCalls++;
    this.probeFailures += flags & FAILURE;
    this.probeSlow += (flags & SLOW) >> 1;
    // Rates are over all the probes, so enough bad ones decide before the rest finish.
    const reason = this.tripReason(this.maxProbes, this.probeFailures, this.probeSlow);
    if (reason === undefined && this.probeCalls < this.maxProbes) return;
    if (reason !== undefined) this.open(`half-open probes: ${reason}`);
    else this.close('half-open probes succeeded');
  }

  private tripReason(calls: number, failures: number, slow: number): string | undefined {
    const failureRate = (failures * 100) / calls;
    if (failures > 0 && failureRate >= this.failureRate) {
      return `failure rate ${failureRate.toFixed(1)}% >= ${this.failureRate}%`;
    }
    const slowRate = (slow * 100) / calls;
    if (slow > 0 && slowRate >= this.slowRate) {
      return `slow call rate ${slowRate.toFixed(1)}% >= ${this.slowRate}%`;
    }
    return undefined;
  }

  private open(reason: string): void {
    this.opens++;
    const growth = this.growth;
    const duration =
      growth === undefined
        ? this.openMs
        : Math.min(growth.max, this.openMs * growth.factor ** (this.opens - 1));
    this.openUntil = this.clock.now() + duration;
    this.transition('open', reason);
  }

  private close(reason: string): void {
    this.opens = 0;
    this.consecutive = 0;
    this.window?.reset();
    this.transition('closed', reason);
  }

  private toHalfOpen(reason: string): void {
    this.probesStarted = 0;
    this.probeCalls = 0;
    this.probeFailures = 0;
    this.probeSlow = 0;
    this.transition('half-open', reason);
  }

  private transition(to: CircuitState, reason: string): void {
    const from = this.current;
    this.current = to;
    this.generation++;
    const event: BreakerStateEvent = { name: this.name, from, to, reason };
    if (channels.breakerState.hasSubscribers) channels.breakerState.publish(event);
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}

function positive(name: string, value: number): number {
  if (!(value > 0)) throw new InvalidArgumentError(`${name} must be > 0, got ${value}`);
  return value;
}

function percent(name: string, value: number): number {
  if (!(value > 0 && value <= 100)) {
    throw new InvalidArgumentError(`${name} is a percentage in (0, 100], got ${value}`);
  }
  return value;
}

/** Stops calling a failing dependency for a while, then lets a few probes test it. */
export function circuitBreaker(options?: CircuitBreakerOptions): CircuitBreaker {
  return new CircuitBreaker(options);
}
