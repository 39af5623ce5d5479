import { InvalidArgumentError, UnsupportedError } from '../core/errors.js';
import { exponentialBackoff } from '../resilience/backoff.js';
import type { ConsumerConfig } from './consumer.js';
import type { DriverCapabilities } from './driver.js';
import type { ConsumeOptions } from './types.js';
import { knownKeys, nonNegative, oneOf, positiveInt } from './validate.js';

const keys = [
  'prefetch',
  'concurrency',
  'leaseTimeout',
  'retry',
  'maxAttempts',
  'deadLetter',
  'ordering',
  'retryable',
  'pollInterval',
  'signal',
] as const;

export function resolveConsumerConfig(
  options: ConsumeOptions | undefined,
  driverName: string,
  caps: DriverCapabilities,
): ConsumerConfig {
  knownKeys('consume option', options, keys);
  const o = options ?? {};
  const concurrency = positiveInt('concurrency', o.concurrency, 1);
  const prefetch = positiveInt('prefetch', o.prefetch, Math.max(32, concurrency));
  if (prefetch < concurrency) {
    throw new InvalidArgumentError(
      `prefetch (${prefetch}) must be at least concurrency (${concurrency}), or handlers would idle`,
    );
  }
  if (prefetch > 10_000)
    throw new InvalidArgumentError(`prefetch must be <= 10000, got ${prefetch}`);
  const leaseMs = nonNegative('leaseTimeout', o.leaseTimeout, 30_000);
  if (leaseMs < 50) throw new InvalidArgumentError(`leaseTimeout must be >= 50 ms, got ${leaseMs}`);
  const ordering = oneOf('ordering', o.ordering, ['none', 'key'], 'none');
  if (ordering === 'key' && !caps.orderByKey) {
    throw new UnsupportedError(`the ${driverName} driver does not offer per-key ordering`);
  }
  if (o.retry !== undefined && typeof o.retry !== 'function' && typeof o.retry !== 'object') {
    throw new InvalidArgumentError(
      'retry must be a backoff function or exponential backoff options',
    );
  }
  if (o.retryable !== undefined && typeof o.retryable !== 'function') {
    throw new InvalidArgumentError('retryable must be a function');
  }
  if (o.deadLetter !== undefined && typeof o.deadLetter !== 'boolean') {
    throw new InvalidArgumentError('deadLetter must be a boolean');
  }
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    throw new InvalidArgumentError('signal must be an AbortSignal');
  }
  const backoff =
    typeof o.retry === 'function'
      ? o.retry
      : exponentialBackoff({ initialDelay: 200, maxDelay: 30_000, ...o.retry });
  return {
    prefetch,
    concurrency,
    leaseMs,
    backoff,
    maxAttempts: positiveInt('maxAttempts', o.maxAttempts, 5),
    deadLetter: o.deadLetter ?? true,
    orderByKey: ordering === 'key',
    retryable: o.retryable ?? (() => true),
    pollMs: Math.max(5, nonNegative('pollInterval', o.pollInterval, 1000)),
    signal: o.signal,
  };
}
