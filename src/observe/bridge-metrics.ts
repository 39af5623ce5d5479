import type { Channel } from 'node:diagnostics_channel';
import type { Registry } from 'prom-client';
import {
  type BreakerCallEvent,
  type BreakerStateEvent,
  type BulkheadEvent,
  type ChannelOverflowEvent,
  type CircuitState,
  type ConcurrencyLimitEvent,
  channels,
  type HedgeEvent,
  type LimiterStoreErrorEvent,
  liveBreakers,
  type RateLimitEvent,
  type RetryEvent,
  type RetryGiveUpEvent,
  type ShedEvent,
  type TimeoutEvent,
} from '../core/diagnostics.js';
import { type BoundCounter, defineCounter, defineGauge, defineHistogram } from './metrics.js';
import { metricsRegistry } from './registry.js';
import { type Listener, on, refCounted, subscribeAll } from './subscription.js';

const STATES: readonly CircuitState[] = ['closed', 'open', 'half-open', 'isolated'];
const STATE_LABELS = { state: STATES, from: STATES, to: STATES };

/** Limiter names are few; this bounds what limiters made and dropped at run time leave. */
const MAX_BOUND_LIMITERS = 1000;

const installs = new WeakMap<Registry, { count: number; stop: () => void }>();

/**
 * Keeps Prometheus metrics from the resilience and flow events on `node:diagnostics_channel`.
 * Several callers may bridge the same registry; each gets its own unsubscribe, and the
 * subscriptions end when the last one is called. Metrics stay registered afterwards.
 */
export function bridgeMetrics(registry: Registry = metricsRegistry()): () => void {
  return refCounted(installs, registry, () => subscribeAll(listeners(registry)));
}

function listeners(registry: Registry): Array<readonly [Channel, Listener]> {
  const breakerState = defineGauge({
    name: 'sluice_breaker_state',
    help: 'Circuit breaker state: 1 for the current state of each breaker, 0 for the others; every breaker of the process from its creation.',
    labelNames: ['name', 'state'],
    labelValues: STATE_LABELS,
    maxSeries: 400,
    registry,
    collect: () => {
      for (const breaker of liveBreakers()) {
        const current = breaker.state;
        for (const state of STATES) {
          breakerState.set({ name: breaker.name, state }, state === current ? 1 : 0);
        }
      }
    },
  });
  const transitions = defineCounter({
    name: 'sluice_breaker_transitions_total',
    help: 'Circuit breaker state changes.',
    labelNames: ['name', 'from', 'to'],
    labelValues: STATE_LABELS,
    registry,
  });
  const calls = defineCounter({
    name: 'sluice_breaker_calls_total',
    help: 'Calls through a circuit breaker by outcome.',
    labelNames: ['name', 'outcome'],
    labelValues: { outcome: ['success', 'failure', 'rejected'] },
    registry,
  });
  const slowCalls = defineCounter({
    name: 'sluice_breaker_slow_calls_total',
    help: 'Calls through a circuit breaker slower than its slow-call threshold.',
    labelNames: ['name'],
    registry,
  });
  const callDuration = defineHistogram({
    name: 'sluice_breaker_call_duration_seconds',
    help: 'Duration of calls a circuit breaker let through.',
    labelNames: ['name'],
    registry,
  });
  const retries = defineCounter({
    name: 'sluice_retry_attempts_total',
    help: 'Failed attempts that were retried.',
    labelNames: ['name'],
    registry,
  });
  const giveUps = defineCounter({
    name: 'sluice_retry_give_ups_total',
    help: 'Retry policies that stopped retrying, by reason.',
    labelNames: ['name', 'reason'],
    labelValues: { reason: ['attempts', 'budget', 'not-retryable', 'aborted'] },
    registry,
  });
  const timeouts = defineCounter({
    name: 'sluice_timeout_expirations_total',
    help: 'Executions aborted by a timeout policy.',
    labelNames: ['name'],
    registry,
  });
  const bulkheadRejections = defineCounter({
    name: 'sluice_bulkhead_rejections_total',
    help: 'Executions a bulkhead turned away: full, or waited in its queue too long.',
    labelNames: ['name', 'outcome'],
    labelValues: { outcome: ['rejected', 'queue-timeout'] },
    registry,
  });
  const hedges = defineCounter({
    name: 'sluice_hedge_attempts_total',
    help: 'Hedged attempts started beyond the first.',
    labelNames: ['name'],
    registry,
  });
  const hedgeWins = defineCounter({
    name: 'sluice_hedge_wins_total',
    help: 'Hedged executions won by an attempt other than the first.',
    labelNames: ['name'],
    registry,
  });
  const rateLimit = defineCounter({
    name: 'sluice_ratelimit_decisions_total',
    help: 'Rate limiter decisions.',
    labelNames: ['name', 'decision'],
    labelValues: { decision: ['allowed', 'rejected'] },
    registry,
  });
  const storeErrors = defineCounter({
    name: 'sluice_ratelimit_store_errors_total',
    help: 'Rate limiter store failures and whether the limiter failed open or closed.',
    labelNames: ['name', 'mode'],
    labelValues: { mode: ['fail-open', 'fail-closed'] },
    registry,
  });
  const concurrencyLimit = defineGauge({
    name: 'sluice_concurrency_limit_executions',
    help: 'Current limit of a concurrency limiter.',
    labelNames: ['name'],
    registry,
  });
  const concurrencyInflight = defineGauge({
    name: 'sluice_concurrency_inflight_executions',
    help: 'Executions in flight under a concurrency limiter at its last limit change.',
    labelNames: ['name'],
    registry,
  });
  const shed = defineCounter({
    name: 'sluice_shedder_rejections_total',
    help: 'Requests shed by a load shedder.',
    labelNames: ['name'],
    registry,
  });
  const overflow = defineCounter({
    name: 'sluice_channel_overflow_total',
    help: 'Items a full bounded channel rejected or dropped, by overflow policy.',
    labelNames: ['name', 'policy'],
    labelValues: { policy: ['reject', 'drop-oldest'] },
    registry,
  });
  // A decision per request through a rate limit: each limiter's two series bound once.
  const decisions = new Map<string, readonly [BoundCounter, BoundCounter]>();
  const decisionsOf = (name: string): readonly [BoundCounter, BoundCounter] => {
    let bound = decisions.get(name);
    if (bound === undefined) {
      if (decisions.size >= MAX_BOUND_LIMITERS) decisions.clear();
      bound = [
        rateLimit.bind({ name, decision: 'allowed' }),
        rateLimit.bind({ name, decision: 'rejected' }),
      ];
      decisions.set(name, bound);
    }
    return bound;
  };

  return [
    on<BreakerStateEvent>(channels.breakerState, (e) => {
      for (const state of STATES) {
        breakerState.set({ name: e.name, state }, state === e.to ? 1 : 0);
      }
      transitions.inc({ name: e.name, from: e.from, to: e.to });
    }),
    on<BreakerCallEvent>(channels.breakerCall, (e) => {
      calls.inc({ name: e.name, outcome: e.outcome });
      if (e.outcome === 'rejected') return;
      if (e.slow) slowCalls.inc({ name: e.name });
      callDuration.observe({ name: e.name }, e.durationMs / 1000);
    }),
    on<RetryEvent>(channels.retry, (e) => retries.inc({ name: e.name })),
    on<RetryGiveUpEvent>(channels.retryGiveUp, (e) =>
      giveUps.inc({ name: e.name, reason: e.reason }),
    ),
    on<TimeoutEvent>(channels.timeout, (e) => timeouts.inc({ name: e.name })),
    on<BulkheadEvent>(channels.bulkhead, (e) =>
      bulkheadRejections.inc({ name: e.name, outcome: e.outcome }),
    ),
    on<HedgeEvent>(channels.hedge, (e) => {
      if (e.started > 1) hedges.inc({ name: e.name }, e.started - 1);
      if (e.winner > 1) hedgeWins.inc({ name: e.name });
    }),
    on<RateLimitEvent>(channels.rateLimit, (e) => decisionsOf(e.name)[e.allowed ? 0 : 1].inc()),
    on<LimiterStoreErrorEvent>(channels.limiterStoreError, (e) =>
      storeErrors.inc({ name: e.name, mode: e.failOpen ? 'fail-open' : 'fail-closed' }),
    ),
    on<ConcurrencyLimitEvent>(channels.concurrencyLimit, (e) => {
      concurrencyLimit.set({ name: e.name }, e.limit);
      concurrencyInflight.set({ name: e.name }, e.inflight);
    }),
    on<ShedEvent>(channels.shed, (e) => shed.inc({ name: e.name })),
    on<ChannelOverflowEvent>(channels.channelOverflow, (e) =>
      overflow.inc({ name: e.name, policy: e.policy }),
    ),
  ];
}
