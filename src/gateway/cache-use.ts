import { deltaSeconds, fieldValue, parseCacheControl } from './cache-control.js';
import { currentAge } from './cache-entry.js';
import type { CacheEntry } from './cache-store.js';

type RequestHeaders = Record<string, string | string[] | undefined>;

/** What a stored entry can do for a request, before any upstream is asked. */
export type Verdict = 'fresh' | 'stale-while-revalidate' | 'stale';

/** Whether `entry` may answer a request with these headers as it is (RFC 9111 sections 4.2 and 5.2.1). */
export function usable(entry: CacheEntry, headers: RequestHeaders, now = Date.now()): Verdict {
  const { lifetime, noCache, mustRevalidate, staleWhileRevalidate } = entry.freshness;
  if (noCache) return 'stale';
  const cc = parseCacheControl(headers['cache-control']);
  if (cc.has('no-cache')) return 'stale';
  if (cc.size === 0 && /no-cache/i.test(fieldValue(headers.pragma) ?? '')) return 'stale';
  const age = currentAge(entry, now);
  const maxAge = deltaSeconds(cc, 'max-age');
  if (maxAge !== undefined && age > maxAge) return 'stale';
  const minFresh = deltaSeconds(cc, 'min-fresh') ?? 0;
  if (age < lifetime) return age + minFresh < lifetime ? 'fresh' : 'stale';
  if (mustRevalidate) return 'stale';
  const staleness = age - lifetime;
  const maxStale = cc.get('max-stale');
  if (
    maxStale === true ||
    (maxStale !== undefined && staleness <= (deltaSeconds(cc, 'max-stale') ?? -1))
  ) {
    return 'fresh';
  }
  return staleness < staleWhileRevalidate ? 'stale-while-revalidate' : 'stale';
}

/**
 * Whether a stale entry may stand in for an upstream that failed: within stale-if-error
 * (RFC 5861) after a 5xx, or at all when the upstream could not be reached (RFC 9111
 * section 4.2.4 allows a disconnected cache that), unless the response forbade it.
 */
export function usableOnError(entry: CacheEntry, unreachable: boolean, now = Date.now()): boolean {
  const { lifetime, mustRevalidate, noCache, staleIfError } = entry.freshness;
  if (mustRevalidate || noCache) return false;
  return unreachable || currentAge(entry, now) - lifetime < staleIfError;
}

/** `Cache-Control: only-if-cached`: a miss is answered 504, never forwarded. */
export function onlyIfCached(headers: RequestHeaders): boolean {
  return parseCacheControl(headers['cache-control']).has('only-if-cached');
}
