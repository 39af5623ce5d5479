import { channel } from 'node:diagnostics_channel';

/**
 * The events policies and limiters publish. Publishers check `hasSubscribers` before
 * building a message, so a hot path costs one property read when nobody listens; the
 * metrics and tracing bridges in `sluice/observe` are ordinary subscribers.
 *
 * `name` is the policy's or limiter's configured name (default `'default'`); it becomes a
 * metric label, so it must come from configuration, never from request data.
 */
export type CircuitState = 'closed' | 'open' | 'half-open' | 'isolated';

export interface BreakerStateEvent {
  name: string;
  from: CircuitState;
  to: CircuitState;
  reason: string;
}
export interface BreakerCallEvent {
  name: string;
  outcome: 'success' | 'failure' | 'rejected';
  slow: boolean;
  durationMs: number;
}
export interface RetryEvent {
  name: string;
  /** The attempt that just failed, 1-based. */
  attempt: number;
  delayMs: number;
  error: unknown;
}
export interface RetryGiveUpEvent {
  name: string;
  attempts: number;
  reason: 'attempts' | 'budget' | 'not-retryable' | 'aborted';
}
export interface TimeoutEvent {
  name: string;
  timeoutMs: number;
}
export interface BulkheadEvent {
  name: string;
  active: number;
  queued: number;
  outcome: 'rejected' | 'queue-timeout';
}
export interface HedgeEvent {
  name: string;
  /** Which attempt won, 1-based; 2 or more means a hedge paid off. */
  winner: number;
  started: number;
}
export interface RateLimitEvent {
  name: string;
  allowed: boolean;
}
export interface LimiterStoreErrorEvent {
  name: string;
  error: unknown;
  /** What the limiter did: admitted the call (fail-open) or rejected it (fail-closed). */
  failOpen: boolean;
}
export interface ConcurrencyLimitEvent {
  name: string;
  limit: number;
  inflight: number;
}
export interface ShedEvent {
  name: string;
  retryAfterMs: number;
}
export interface ChannelOverflowEvent {
  name: string;
  policy: 'reject' | 'drop-oldest';
}

export const channels = {
  breakerState: channel('sluice:breaker:state'),
  breakerCall: channel('sluice:breaker:call'),
  retry: channel('sluice:retry:attempt'),
  retryGiveUp: channel('sluice:retry:give-up'),
  timeout: channel('sluice:timeout'),
  bulkhead: channel('sluice:bulkhead:rejected'),
  hedge: channel('sluice:hedge'),
  rateLimit: channel('sluice:ratelimit:decision'),
  limiterStoreError: channel('sluice:ratelimit:store-error'),
  concurrencyLimit: channel('sluice:concurrency:limit'),
  shed: channel('sluice:shed'),
  channelOverflow: channel('sluice:channel:overflow'),
} as const;

/** What the metrics bridge reads of a live breaker at each scrape. */
export interface BreakerView {
  readonly name: string;
  readonly state: CircuitState;
}

// On globalThis, so that two copies of the package in one process see every breaker.
const BREAKERS = Symbol.for('sluice.breakers');
const breakerHolder = globalThis as { [BREAKERS]?: Set<WeakRef<BreakerView>> };

/**
 * Records a breaker as it is created, weakly, so that its state is exported from the
 * start rather than from its first state change.
 */
export function trackBreaker(breaker: BreakerView): void {
  breakerHolder[BREAKERS] ??= new Set();
  breakerHolder[BREAKERS].add(new WeakRef(breaker));
}

/** The breakers alive now; those collected are forgotten. */
export function liveBreakers(): BreakerView[] {
  const refs = breakerHolder[BREAKERS];
  if (refs === undefined) return [];
  const out: BreakerView[] = [];
  for (const ref of refs) {
    const breaker = ref.deref();
    if (breaker === undefined) refs.delete(ref);
    else out.push(breaker);
  }
  return out;
}
