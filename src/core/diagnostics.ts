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
