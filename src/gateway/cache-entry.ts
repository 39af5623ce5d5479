import { fieldValue, splitList } from './cache-control.js';
import { type FreshnessOptions, freshnessOf, initialAge } from './cache-freshness.js';
import { byteRange } from './cache-range.js';
import type { CacheEntry } from './cache-store.js';
import { variantOf, varyNames } from './cache-variant.js';
import { parseHttpDate } from './http-date.js';
import type { GatewayResponse, ResponseHeaders } from './types.js';

/** Fields a cache never stores or forwards from storage (RFC 9111 section 3.1). */
const NOT_STORED = new Set([
  'proxy-authenticate',
  'proxy-authentication-info',
  'proxy-authorization',
  'proxy-connection',
  'keep-alive',
  'connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'age',
]);

/** Fields a 304 must not change in the stored response (RFC 9111 section 3.2). */
const NOT_UPDATED = new Set([
  'content-length',
  'content-encoding',
  'content-range',
  'content-type',
]);

/** What a 304 from this cache carries (RFC 9110 section 15.4.5). */
const IN_304 = [
  'cache-control',
  'content-location',
  'date',
  'etag',
  'expires',
  'vary',
  'last-modified',
];

/** The request and response that make an entry, with when each happened. */
export interface Exchange {
  status: number;
  headers: ResponseHeaders;
  requestHeaders: Record<string, string | string[] | undefined>;
  requestTime: number;
  responseTime: number;
}

/** The entry to store for a response, or null when it may not be stored. */
export function entryOf(
  exchange: Exchange,
  body: Buffer,
  options: FreshnessOptions,
): CacheEntry | null {
  const { status, headers, requestHeaders, requestTime, responseTime } = exchange;
  if (varyNames(headers.vary).includes('*')) return null;
  const freshness = freshnessOf(status, headers, requestHeaders, responseTime, options);
  if (freshness === null) return null;
  const stored = storable(headers);
  const { lifetime, staleWhileRevalidate, staleIfError } = freshness;
  if (lifetime === 0 && !hasValidator(stored) && staleWhileRevalidate + staleIfError === 0) {
    return null;
  }
  return {
    status,
    headers: stored,
    body,
    variant: variantOf(headers.vary, requestHeaders),
    size: body.length + 512,
    responseTime,
    initialAge: initialAge(headers, requestTime, responseTime),
    freshness,
  };
}

/** The entry's age now, in seconds. */
export function currentAge(entry: CacheEntry, now: number): number {
  return entry.initialAge + Math.max(0, now - entry.responseTime) / 1000;
}

/** Seconds an entry is worth keeping: while fresh, stale-usable, or revalidatable. */
export function timeToLive(entry: CacheEntry, now: number): number {
  const { lifetime, staleWhileRevalidate, staleIfError } = entry.freshness;
  const usable = lifetime - currentAge(entry, now) + Math.max(staleWhileRevalidate, staleIfError);
  return hasValidator(entry.headers) ? Math.max(usable, 3_600) : usable;
}

/**
 * The stored response as served: its own `Date`, an `Age` (RFC 9111 section 4), and the
 * one byte range a GET asks for, if it asks for one of a whole 200.
 */
export function served(
  entry: CacheEntry,
  now: number,
  cacheStatus: string,
  hidden: readonly string[],
  request: { method: string; headers: Record<string, string | string[] | undefined> },
): GatewayResponse {
  const headers: Record<string, string | string[]> = { ...entry.headers };
  for (const name of hidden) delete headers[name];
  headers.age = String(Math.floor(currentAge(entry, now)));
  headers['cache-status'] = withCacheStatus(entry.headers['cache-status'], cacheStatus);
  const size = entry.body.length;
  const range =
    entry.status === 200 && request.method === 'GET'
      ? byteRange(request.headers.range, size)
      : null;
  if (range !== null) {
    headers['content-range'] = `bytes ${range.start}-${range.end}/${size}`;
    headers['content-length'] = String(range.end - range.start + 1);
    return { status: 206, headers, body: entry.body.subarray(range.start, range.end + 1) };
  }
  headers['content-length'] = String(size);
  return { status: entry.status, headers, body: request.method === 'HEAD' ? null : entry.body };
}

/**
 * Whether the client's own `If-None-Match` (or, without it, `If-Modified-Since`) matches
 * the stored response, so it gets a 304 (RFC 9110 section 13.2.2).
 */
export function clientHasIt(
  requestHeaders: Record<string, string | string[] | undefined>,
  entry: CacheEntry,
): boolean {
  if (entry.status !== 200) return false;
  const inm = fieldValue(requestHeaders['if-none-match']);
  if (inm !== undefined) {
    if (inm.trim() === '*') return true;
    const etag = fieldValue(entry.headers.etag);
    return etag !== undefined && splitList(inm).some((tag) => weakMatch(tag, etag));
  }
  const since = parseHttpDate(fieldValue(requestHeaders['if-modified-since']));
  if (since === null) return false;
  const modified =
    parseHttpDate(fieldValue(entry.headers['last-modified'])) ??
    parseHttpDate(fieldValue(entry.headers.date));
  return modified !== null && modified <= since;
}

export function notModified(entry: CacheEntry, now: number, cacheStatus: string): GatewayResponse {
  const headers: Record<string, string | string[]> = {};
  for (const name of IN_304) {
    const value = entry.headers[name];
    if (value !== undefined) headers[name] = value;
  }
  headers.age = String(Math.floor(currentAge(entry, now)));
  headers['cache-status'] = withCacheStatus(entry.headers['cache-status'], cacheStatus);
  return { status: 304, headers, body: null };
}

/**
 * `Cache-Status` with our member after those already there: RFC 9211 section 2 lists the
 * caches from the origin's side to the client's, and each keeps what the others said. A
 * stored response keeps the members of the caches it came through.
 */
export function withCacheStatus(
  prior: string | string[] | number | undefined,
  member: string,
): string {
  if (prior === undefined || prior === '') return member;
  return `${Array.isArray(prior) ? prior.join(', ') : prior}, ${member}`;
}

/** The validators a revalidation of `entry` sends (RFC 9111 section 4.3.1). */
export function validatorsOf(entry: CacheEntry): Record<string, string> {
  const out: Record<string, string> = {};
  const etag = fieldValue(entry.headers.etag);
  const modified = fieldValue(entry.headers['last-modified']);
  if (etag !== undefined) out['if-none-match'] = etag;
  if (modified !== undefined) out['if-modified-since'] = modified;
  return out;
}

/**
 * The entry a 304 renews (RFC 9111 sections 3.2 and 4.3.4): the 304's fields replace the
 * stored ones, Content-Length and the representation's own metadata excepted. Null when
 * the 304 names another representation (its ETag is not the stored one) or may not be kept.
 */
export function renewed(
  entry: CacheEntry,
  exchange: Exchange,
  options: FreshnessOptions,
): CacheEntry | null {
  const etag = fieldValue(exchange.headers.etag);
  const stored = fieldValue(entry.headers.etag);
  if (etag !== undefined && (stored === undefined || !weakMatch(etag, stored))) return null;
  const headers: Record<string, string | string[]> = { ...entry.headers };
  for (const [name, value] of Object.entries(storable(exchange.headers))) {
    if (!NOT_UPDATED.has(name)) headers[name] = value;
  }
  const freshness = freshnessOf(
    entry.status,
    headers,
    exchange.requestHeaders,
    exchange.responseTime,
    options,
  );
  if (freshness === null) return null;
  return {
    ...entry,
    headers,
    responseTime: exchange.responseTime,
    initialAge: initialAge(exchange.headers, exchange.requestTime, exchange.responseTime),
    freshness,
  };
}

function storable(headers: ResponseHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || NOT_STORED.has(name)) continue;
    out[name] = typeof value === 'number' ? String(value) : value;
  }
  return out;
}

function hasValidator(headers: Record<string, string | string[]>): boolean {
  return headers.etag !== undefined || headers['last-modified'] !== undefined;
}

/** Weak comparison of two entity tags (RFC 9110 section 8.8.3.2). */
function weakMatch(a: string, b: string): boolean {
  const strip = (tag: string): string => tag.trim().replace(/^W\//, '');
  return strip(a) === strip(b);
}
