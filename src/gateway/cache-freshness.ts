import {
  type Directives,
  deltaSeconds,
  fieldValue,
  parseCacheControl,
  splitList,
} from './cache-control.js';
import { parseTargeted } from './cache-targeted.js';
import { parseHttpDate } from './http-date.js';
import type { ResponseHeaders } from './types.js';

/** What RFC 9111 lets a shared cache do with a stored response, decided when it is stored. */
export interface Freshness {
  /** Freshness lifetime in seconds (section 4.2.1). */
  lifetime: number;
  /** `no-cache`: every use needs a successful revalidation (section 5.2.2.4). */
  noCache: boolean;
  /** `must-revalidate`, `proxy-revalidate` or `s-maxage`: never served stale (section 4.2.4). */
  mustRevalidate: boolean;
  /** RFC 5861 windows, in seconds past the lifetime. */
  staleWhileRevalidate: number;
  staleIfError: number;
}

export interface FreshnessOptions {
  /** Targeted fields, lower case, in order of precedence (RFC 9213). */
  targeted: readonly string[];
  /** Seconds of freshness for a response that says nothing about caching. */
  defaultMaxAge: number | undefined;
  /** stale-while-revalidate that goes with `defaultMaxAge`. */
  defaultStaleWhileRevalidate: number;
}

/** Status codes defined by RFC 9110: `must-understand` lets only these be stored. */
const UNDERSTOOD = new Set([
  200, 201, 202, 203, 204, 205, 206, 300, 301, 302, 303, 304, 305, 307, 308, 400, 401, 402, 403,
  404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 421, 422, 426, 500, 501,
  502, 503, 504, 505,
]);

/** Section 4.2.2: statuses a cache may give heuristic freshness. */
const HEURISTIC = new Set([200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501]);
const MAX_HEURISTIC = 86_400;

/**
 * The freshness of a response, or null when a shared cache must not store it (RFC 9111
 * section 3). A targeted field (`Sluice-Cache-Control`, `CDN-Cache-Control`) replaces
 * `Cache-Control` and `Expires` when present and valid (RFC 9213).
 */
export function freshnessOf(
  status: number,
  headers: ResponseHeaders,
  requestHeaders: Record<string, string | string[] | undefined>,
  responseTime: number,
  options: FreshnessOptions,
): Freshness | null {
  if (status < 200 || status === 206 || status === 304) return null;
  if (parseCacheControl(requestHeaders['cache-control']).has('no-store')) return null;
  let cc = targetedDirectives(headers, options.targeted);
  const targeted = cc !== null;
  cc ??= parseCacheControl(headers['cache-control']);
  if (
    !targeted &&
    options.defaultMaxAge !== undefined &&
    headers['cache-control'] === undefined &&
    headers.expires === undefined
  ) {
    const defaults = new Map<string, string | true>([['max-age', String(options.defaultMaxAge)]]);
    if (options.defaultStaleWhileRevalidate > 0) {
      defaults.set('stale-while-revalidate', String(options.defaultStaleWhileRevalidate));
    }
    cc = defaults;
  }
  if (cc.has('must-understand')) {
    if (!UNDERSTOOD.has(status)) return null;
  } else if (cc.has('no-store')) return null;
  if (cc.has('private')) return null;
  const sMaxAge = deltaSeconds(cc, 's-maxage');
  if (
    requestHeaders.authorization !== undefined &&
    !cc.has('public') &&
    !cc.has('must-revalidate') &&
    sMaxAge === undefined
  ) {
    return null;
  }
  const date = parseHttpDate(fieldValue(headers.date)) ?? responseTime;
  let lifetime = sMaxAge ?? deltaSeconds(cc, 'max-age');
  if (lifetime === undefined && !targeted && headers.expires !== undefined) {
    const expires = parseHttpDate(headers.expires);
    lifetime = expires === null ? 0 : Math.max(0, Math.floor((expires - date) / 1000));
  }
  if (lifetime === undefined && (HEURISTIC.has(status) || cc.has('public'))) {
    const modified = parseHttpDate(fieldValue(headers['last-modified']));
    if (modified !== null && modified < date) {
      lifetime = Math.min(MAX_HEURISTIC, Math.floor((date - modified) / 10_000));
    } else if (cc.has('public')) lifetime = 0;
  }
  // Stored without freshness, a no-cache response is revalidated on every use (section
  // 5.2.2.4): its validators still spare the upstream the body.
  if (lifetime === undefined && cc.has('no-cache')) lifetime = 0;
  if (lifetime === undefined) return null;
  return {
    lifetime,
    noCache: cc.has('no-cache'),
    mustRevalidate:
      cc.has('must-revalidate') || cc.has('proxy-revalidate') || sMaxAge !== undefined,
    staleWhileRevalidate: deltaSeconds(cc, 'stale-while-revalidate') ?? 0,
    staleIfError: deltaSeconds(cc, 'stale-if-error') ?? 0,
  };
}

function targetedDirectives(
  headers: ResponseHeaders,
  targeted: readonly string[],
): Directives | null {
  for (const name of targeted) {
    const directives = parseTargeted(headers[name]);
    if (directives !== null) return directives;
  }
  return null;
}

/**
 * The response's age when it arrived, in seconds (RFC 9111 section 4.2.3): the larger of
 * what its `Date` says and its `Age` plus the time the request took. An `Age` that is not
 * a non-negative integer is ignored; of several, the first counts.
 */
export function initialAge(
  headers: ResponseHeaders,
  requestTime: number,
  responseTime: number,
): number {
  const date = parseHttpDate(fieldValue(headers.date));
  const apparent = date === null ? 0 : Math.max(0, responseTime - date) / 1000;
  const first = splitList(fieldValue(headers.age) ?? '')[0] ?? '';
  const age = /^\d+$/.test(first) ? Math.min(Number(first), 2 ** 31) : 0;
  return Math.max(apparent, age + Math.max(0, responseTime - requestTime) / 1000);
}
