import { setTimeout as delay } from 'node:timers/promises';
import { isCircuitOpenError, isTimeoutError } from '../core/errors.js';
import { circuitBreaker, exponentialBackoff, retry, timeout, wrap } from '../resilience/index.js';

type Health = 'healthy' | 'failing' | 'slow';

/**
 * A live look at the policies: a simulated payment call goes healthy, then fails, then
 * turns slow, then recovers, while `retry(breaker(timeout(call)))` absorbs it. Each line
 * is one call; state changes of the breaker are printed as they happen.
 */
export async function runDemo(args: string[]): Promise<number> {
  const fast = args.includes('--fast');
  const scale = fast ? 0.1 : 1;
  let health: Health = 'healthy';
  let upstreamCalls = 0;

  const payment = async (signal: AbortSignal): Promise<string> => {
    upstreamCalls++;
    if (health === 'failing') throw new Error('payment: 503 Service Unavailable');
    if (health === 'slow') {
      await delay(400 * scale, undefined, { signal });
    }
    return 'charged';
  };

  const breaker = circuitBreaker({
    name: 'payment',
    window: { type: 'count', size: 10 },
    minimumCalls: 5,
    failureRateThreshold: 50,
    slowCallDurationMs: 150 * scale,
    openDurationMs: 1500 * scale,
    halfOpenMaxProbes: 2,
  });
  breaker.onStateChange((e) => {
    console.log(`    breaker ${e.from} -> ${e.to} (${e.reason})`);
  });
  const policy = wrap(
    retry({
      maxAttempts: 3,
      backoff: exponentialBackoff({ initialDelay: 20 * scale, maxDelay: 200 * scale }),
      retryable: (e) => !isCircuitOpenError(e),
    }),
    breaker,
    timeout(250 * scale),
  );

  const phases: Array<[Health, number, string]> = [
    ['healthy', 6, 'payment is healthy'],
    ['failing', 8, 'payment starts failing every call'],
    ['slow', 4, 'payment answers, but too slowly for the 250 ms timeout'],
    ['healthy', 8, 'payment recovers'],
  ];
  const call = async (): Promise<void> => {
    const before = upstreamCalls;
    const started = performance.now();
    let outcome: string;
    try {
      outcome = await policy.execute(({ signal }) => payment(signal));
    } catch (error) {
      outcome = failureOf(error, upstreamCalls - before);
    }
    const ms = (performance.now() - started).toFixed(0).padStart(4);
    const tries = upstreamCalls - before;
    console.log(`  call ${ms} ms  upstream calls: ${tries}  ${outcome}  [${breaker.state}]`);
    await delay(200 * scale);
  };

  console.log('sluice demo: retry(3, exponential backoff) -> circuit breaker -> timeout(250ms)');
  for (const [state, calls, title] of phases) {
    health = state;
    console.log(`\n-- ${title}`);
    for (let i = 0; i < calls; i++) await call();
  }
  // However slow the machine, the demo ends on a closed circuit: it keeps calling the
  // recovered service until the half-open probes have closed it.
  for (let i = 0; i < 100 && breaker.state !== 'closed'; i++) await call();
  for (let i = 0; i < 3; i++) await call();
  console.log(
    `\n${upstreamCalls} upstream calls in all; the breaker kept the outage from multiplying them.`,
  );
  return 0;
}

/**
 * What a failed call went through. "Rejected fast" only when the open circuit refused it
 * before any upstream call: a call whose first attempt timed out and opened the circuit
 * took the timeout's time, and says so.
 */
export function failureOf(error: unknown, upstreamCalls: number): string {
  if (isCircuitOpenError(error)) {
    if (upstreamCalls === 0) return 'rejected fast: circuit open, payment not called';
    const calls = upstreamCalls === 1 ? '1 upstream call' : `${upstreamCalls} upstream calls`;
    return `circuit opened after ${calls}: retry stopped`;
  }
  if (isTimeoutError(error)) return 'timed out';
  return `failed: ${error instanceof Error ? error.message : String(error)}`;
}
