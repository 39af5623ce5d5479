import { type Attributes, trace } from '@opentelemetry/api';
import {
  type BreakerCallEvent,
  type BreakerStateEvent,
  type BulkheadEvent,
  channels,
  type HedgeEvent,
  type RateLimitEvent,
  type RetryEvent,
  type ShedEvent,
  type TimeoutEvent,
} from '../core/diagnostics.js';
import { on, refCounted, subscribeAll } from './subscription.js';

const installs = new WeakMap<object, { count: number; stop: () => void }>();
const KEY = {};

/**
 * Records resilience and flow decisions as events on whichever span is active where the
 * policy runs (channels deliver synchronously, in the publisher's context): retries,
 * breaker rejections and state changes, timeouts, bulkhead rejections, hedges, rate-limit
 * rejections and load shedding. Returns an unsubscribe; installing twice is harmless.
 */
export function bridgeTracing(): () => void {
  return refCounted(installs, KEY, () =>
    subscribeAll([
      on<RetryEvent>(channels.retry, (e) =>
        addEvent('sluice.retry', {
          'sluice.policy': e.name,
          'sluice.retry.attempt': e.attempt,
          'sluice.retry.delay_ms': e.delayMs,
          ...errorAttributes(e.error),
        }),
      ),
      on<BreakerCallEvent>(channels.breakerCall, (e) => {
        if (e.outcome === 'rejected')
          addEvent('sluice.breaker.rejected', { 'sluice.policy': e.name });
      }),
      on<BreakerStateEvent>(channels.breakerState, (e) =>
        addEvent('sluice.breaker.state', {
          'sluice.policy': e.name,
          'sluice.breaker.from': e.from,
          'sluice.breaker.to': e.to,
          'sluice.breaker.reason': e.reason,
        }),
      ),
      on<TimeoutEvent>(channels.timeout, (e) =>
        addEvent('sluice.timeout', { 'sluice.policy': e.name, 'sluice.timeout_ms': e.timeoutMs }),
      ),
      on<BulkheadEvent>(channels.bulkhead, (e) =>
        addEvent('sluice.bulkhead.rejected', {
          'sluice.policy': e.name,
          'sluice.bulkhead.outcome': e.outcome,
          'sluice.bulkhead.active': e.active,
          'sluice.bulkhead.queued': e.queued,
        }),
      ),
      on<HedgeEvent>(channels.hedge, (e) =>
        addEvent('sluice.hedge', {
          'sluice.policy': e.name,
          'sluice.hedge.started': e.started,
          'sluice.hedge.winner': e.winner,
        }),
      ),
      on<RateLimitEvent>(channels.rateLimit, (e) => {
        if (!e.allowed) addEvent('sluice.ratelimit.rejected', { 'sluice.policy': e.name });
      }),
      on<ShedEvent>(channels.shed, (e) =>
        addEvent('sluice.shed', {
          'sluice.policy': e.name,
          'sluice.shed.retry_after_ms': e.retryAfterMs,
        }),
      ),
    ]),
  );
}

function addEvent(name: string, attributes: Attributes): void {
  const span = trace.getActiveSpan();
  if (span?.isRecording()) span.addEvent(name, attributes);
}

function errorAttributes(error: unknown): Attributes {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      'exception.type': typeof code === 'string' ? code : error.name,
      'exception.message': error.message,
    };
  }
  return error === undefined ? {} : { 'exception.message': String(error) };
}
