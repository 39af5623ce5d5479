import { type ConcurrencyLimit, concurrencyLimit } from './concurrency-limit.js';
import { positive } from './limiter-options.js';

/** At most `limit` calls at once; latency never moves it. */
export function fixedConcurrencyLimit(
  limit: number,
  options: { name?: string } = {},
): ConcurrencyLimit {
  const fixed = Math.floor(positive('limit', limit));
  return concurrencyLimit({ initial: fixed, update: () => fixed }, options);
}
