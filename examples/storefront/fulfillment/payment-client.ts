import { injectContext } from 'sluice/observe';
import {
  bulkhead,
  circuitBreaker,
  exponentialBackoff,
  retry,
  retryBudget,
  timeout,
  wrap,
} from 'sluice/resilience';

/** Payment said no: retrying cannot help, the order has failed. */
export class PaymentDeclinedError extends Error {
  override readonly name = 'PaymentDeclinedError';
}

/** Payment answered with a server error; worth retrying. */
class PaymentUnavailableError extends Error {
  override readonly name = 'PaymentUnavailableError';
}

export const paymentBreaker = circuitBreaker({
  name: 'payment',
  window: { type: 'count', size: 20 },
  failureRateThreshold: 50,
  slowCallDurationMs: 500,
  slowCallRateThreshold: 80,
  minimumCalls: 10,
  openDurationMs: 5_000,
  isFailure: (error) => !(error instanceof PaymentDeclinedError),
});

const policy = wrap(
  bulkhead({ name: 'payment', maxConcurrent: 8, maxQueue: 32, queueTimeoutMs: 5_000 }),
  retry({
    name: 'payment',
    maxAttempts: 3,
    backoff: exponentialBackoff({ initialDelay: 100, maxDelay: 2_000 }),
    budget: retryBudget({ ratio: 0.2 }),
    retryable: (error) => !(error instanceof PaymentDeclinedError),
  }),
  paymentBreaker,
  timeout(1_000),
);

export function charge(
  paymentUrl: string,
  orderId: string,
  amount: number,
  signal: AbortSignal,
): Promise<void> {
  return policy.execute(
    async ({ signal: attempt }) => {
      const res = await fetch(new URL('/charges', paymentUrl), {
        method: 'POST',
        headers: injectContext({ 'content-type': 'application/json' }),
        body: JSON.stringify({ orderId, amount }),
        signal: attempt,
      });
      await res.arrayBuffer();
      if (res.status >= 500) throw new PaymentUnavailableError(`payment answered ${res.status}`);
      if (!res.ok) throw new PaymentDeclinedError(`payment declined (${res.status})`);
    },
    { signal },
  );
}
