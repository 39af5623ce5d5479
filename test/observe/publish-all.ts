import { channels } from '../../src/core/diagnostics.js';

/** Publishes one event of every kind, as the resilience and flow policies would. */
export function publishEveryEvent(name = 'payment'): void {
  channels.breakerState.publish({ name, from: 'closed', to: 'open', reason: 'failure-rate' });
  channels.breakerCall.publish({ name, outcome: 'failure', slow: true, durationMs: 1500 });
  channels.breakerCall.publish({ name, outcome: 'rejected', slow: false, durationMs: 0 });
  channels.retry.publish({ name, attempt: 1, delayMs: 100, error: new Error('boom') });
  channels.retryGiveUp.publish({ name, attempts: 3, reason: 'attempts' });
  channels.timeout.publish({ name, timeoutMs: 1000 });
  channels.bulkhead.publish({ name, active: 10, queued: 5, outcome: 'rejected' });
  channels.hedge.publish({ name, winner: 2, started: 2 });
  channels.rateLimit.publish({ name, allowed: true });
  channels.rateLimit.publish({ name, allowed: false });
  channels.limiterStoreError.publish({ name, error: new Error('ECONNREFUSED'), failOpen: true });
  channels.concurrencyLimit.publish({ name, limit: 20, inflight: 7 });
  channels.shed.publish({ name, retryAfterMs: 500 });
  channels.channelOverflow.publish({ name, policy: 'drop-oldest' });
}
