import { Readable } from 'node:stream';
import { parseDuration, parseSize } from '../../core/units.js';
import { createLogger } from '../../observe/index.js';
import { bufferUpTo } from '../buffer-up-to.js';
import { fieldValue, parseCacheControl } from '../cache-control.js';
import {
  clientHasIt,
  currentAge,
  entryOf,
  notModified,
  renewed,
  served,
  validatorsOf,
  withCacheStatus,
} from '../cache-entry.js';
import type { FreshnessOptions } from '../cache-freshness.js';
import { cacheKey, cacheOrigin, sameOriginPath } from '../cache-key.js';
import type { CacheEntry } from '../cache-store.js';
import { onlyIfCached, usable, usableOnError } from '../cache-use.js';
import { variantOf } from '../cache-variant.js';
import type { CompileEnv } from '../compile.js';
import type { RouteConfig } from '../config.js';
import { isHttpProblemError } from '../errors.js';
import { TrustedProxies } from '../forwarding.js';
import type { Filter, GatewayContext, GatewayRequest, GatewayResponse, Handler } from '../types.js';
import { cacheStoreFor, storeErrorCounter } from './cache-setup.js';

/** Conditionals this cache answers itself from a stored response; others go upstream. */
const ANSWERED = ['if-none-match', 'if-modified-since'];
const UNANSWERED = ['if-match', 'if-unmodified-since', 'if-range'];
/** Methods that never invalidate (RFC 9111 section 4.4 names the unsafe ones). */
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);
/** Upstream answers after which a stale-if-error entry may stand in (RFC 5861). */
const ERRORS = new Set([500, 502, 503, 504]);

/** What became of a forwarded response: stored, not storable, or the store failed. */
type Outcome = 'stored' | 'not-stored' | 'store-unavailable';

function forwarded(stale: CacheEntry | undefined, outcome: Outcome, notModified = false): string {
  const status = `sluice; fwd=${stale ? 'stale' : 'miss'}${notModified ? '; fwd-status=304' : ''}`;
  if (outcome === 'stored') return `${status}; stored`;
  if (outcome === 'store-unavailable') return `${status}; detail=store-unavailable`;
  return status;
}

/** Lets go of a body nobody will read; its errors (a reset, a wrong length) are expected. */
function discard(body: GatewayResponse['body']): void {
  if (body instanceof Readable) {
    body.on('error', () => {});
    body.destroy();
  }
}

/** A forwarded response the cache did not keep, as the client gets it. */
function uncached(response: GatewayResponse, forward: Forward): GatewayResponse {
  const outcome = forward.storeUp ? 'not-stored' : 'store-unavailable';
  const headers = response.headers;
  headers['cache-status'] = withCacheStatus(
    headers['cache-status'],
    forwarded(forward.stale, outcome),
  );
  if (forward.request.method !== 'HEAD') return response;
  // A HEAD that renewed a stale entry went upstream as a GET.
  discard(response.body);
  return { ...response, body: null };
}

/** An upstream fetch in flight for a key; an invalidation of the key marks it. */
interface Fetch {
  invalidated: boolean;
}

/** What a fetch stored (null when nothing), and the answer to its request. */
interface Fetched {
  entry: CacheEntry | null;
  response: GatewayResponse;
}

/** A request going upstream for `key`, renewing `stale` if given. */
interface Forward {
  next: Handler;
  request: GatewayRequest;
  context: GatewayContext;
  key: string;
  stale: CacheEntry | undefined;
  /** False when the lookup just failed: then nothing is written. */
  storeUp: boolean;
}

/**
 * A shared HTTP cache (RFC 9111) for GET, HEAD served from stored GETs. Freshness, age,
 * validation and invalidation are this gateway's own (see cache-freshness.ts, cache-entry.ts):
 * a targeted field (`Sluice-Cache-Control`, then `CDN-Cache-Control`, RFC 9213) overrides
 * `Cache-Control`; a stale entry within stale-while-revalidate is served while one
 * background request refreshes it; concurrent misses for a key in this process wait for one
 * upstream request; a non-error answer to an unsafe method drops the URL's entries. Every
 * response says what happened in `Cache-Status` (RFC 9211).
 *
 * Entries live in this process's memory, or in Redis (`store`) shared by every gateway
 * process. A store that fails or answers too late never fails a request: it goes upstream,
 * says `detail=store-unavailable` and counts in `sluice_gateway_cache_store_errors_total`.
 * Nor does a fault of the cache's own: it is logged at error and the request goes upstream.
 */
export function cacheFilter(route: RouteConfig, env: CompileEnv, routeName: string): Filter | null {
  const config = route.cache;
  if (!config) return null;
  const store = cacheStoreFor(config, env, routeName);
  const storeErrors = storeErrorCounter(env);
  const log = env.logger ?? createLogger({ name: 'sluice-gateway' });
  const trusted = env.memo(
    'cache trusted proxies',
    () => new TrustedProxies(env.config.trustedProxies ?? []),
  );
  const maxEntry = parseSize(config.maxEntryBytes ?? '1mb');
  const ownField = (config.targetedField ?? 'Sluice-Cache-Control').toLowerCase();
  const options: FreshnessOptions = {
    targeted: [ownField, 'cdn-cache-control'],
    defaultMaxAge:
      config.maxAge === undefined ? undefined : Math.round(parseDuration(config.maxAge) / 1000),
    defaultStaleWhileRevalidate:
      config.staleWhileRevalidate === undefined
        ? 0
        : Math.round(parseDuration(config.staleWhileRevalidate) / 1000),
  };
  // Our own targeted field is for us alone; CDN-Cache-Control may serve a CDN in front.
  const hidden = [ownField];
  const pending = new Map<string, Promise<CacheEntry | null>>();
  const fetching = new Map<string, Set<Fetch>>();

  const storeFailed = (operation: 'read' | 'write'): void => {
    storeErrors?.inc({ route: routeName, operation });
  };

  const fault = (error: unknown, request: GatewayRequest, context: GatewayContext): void => {
    log.error(
      { err: error, route: routeName, requestId: context.requestId, path: request.path },
      'cache filter failed; the request went upstream uncached',
    );
  };

  /** Puts `entry` in the store; a store failure is counted, never thrown. */
  const save = (key: string, entry: CacheEntry): Outcome | Promise<Outcome> => {
    let kept: boolean | Promise<boolean>;
    try {
      kept = store.put(key, entry);
    } catch {
      kept = Promise.reject(new Error('store failed'));
    }
    if (!(kept instanceof Promise)) return kept ? 'stored' : 'not-stored';
    return kept.then(
      (yes) => (yes ? 'stored' : 'not-stored'),
      () => {
        storeFailed('write');
        return 'store-unavailable';
      },
    );
  };

  const drop = async (key: string): Promise<void> => {
    for (const fetch of fetching.get(key) ?? []) fetch.invalidated = true;
    try {
      await store.delete(key);
    } catch {
      storeFailed('write');
    }
  };

  /** The answer to `request` from `entry`: a 304 when the client already has it. */
  const answer = (entry: CacheEntry, request: GatewayRequest, status: string): GatewayResponse => {
    const now = Date.now();
    if (clientHasIt(request.headers, entry)) return notModified(entry, now, status);
    return served(entry, now, status, hidden, request);
  };

  /**
   * One upstream request; resolves to the stored entry (or null) and the answer. While it is
   * in flight an invalidation of its key marks it, and it stores nothing: what it brings
   * may predate the change that invalidated the key.
   */
  async function fetchInto(forward: Forward): Promise<Fetched> {
    const fetch: Fetch = { invalidated: false };
    let inflight = fetching.get(forward.key);
    if (inflight === undefined) {
      inflight = new Set();
      fetching.set(forward.key, inflight);
    }
    inflight.add(fetch);
    try {
      return await fetchOnce(forward, fetch);
    } finally {
      inflight.delete(fetch);
      if (inflight.size === 0 && fetching.get(forward.key) === inflight) {
        fetching.delete(forward.key);
      }
    }
  }

  /** Stores what `fetch` brought, unless its key was invalidated meanwhile. */
  const keep = (fetch: Fetch, key: string, entry: CacheEntry): Outcome | Promise<Outcome> =>
    fetch.invalidated ? 'not-stored' : save(key, entry);

  async function fetchOnce(forward: Forward, fetch: Fetch): Promise<Fetched> {
    const { next, request, context, key, stale, storeUp } = forward;
    const headers = { ...request.headers };
    if (stale) {
      for (const h of ANSWERED) delete headers[h];
      Object.assign(headers, validatorsOf(stale));
    }
    const requestTime = Date.now();
    let response: GatewayResponse;
    try {
      response = await next({ ...request, method: 'GET', headers }, context);
    } catch (error) {
      // A refusal of the gateway's own (a request that cannot be sent) is no outage.
      if (stale && !isHttpProblemError(error) && usableOnError(stale, true)) {
        log.warn(
          { err: error, route: routeName, requestId: context.requestId, path: request.path },
          'upstream unreachable; served the stale entry',
        );
        const status = 'sluice; hit; fwd=stale; detail=upstream-unreachable';
        return { entry: null, response: answer(stale, request, status) };
      }
      throw error;
    }
    const exchange = {
      status: response.status,
      headers: response.headers,
      requestHeaders: request.headers,
      requestTime,
      responseTime: Date.now(),
    };
    if (stale && response.status === 304) {
      discard(response.body);
      const entry = renewed(stale, exchange, options);
      if (entry === null)
        return fetchInto({ ...forward, stale: undefined, request: unconditional(request) });
      const outcome = storeUp ? await keep(fetch, key, entry) : 'store-unavailable';
      const status = forwarded(stale, outcome, true);
      return {
        entry: fetch.invalidated ? null : entry,
        response: answer(entry, request, status),
      };
    }
    if (stale && ERRORS.has(response.status) && usableOnError(stale, false)) {
      discard(response.body);
      return {
        entry: null,
        response: answer(stale, request, 'sluice; hit; fwd=stale; detail=stale-if-error'),
      };
    }
    let entry: CacheEntry | null = null;
    const length = Number(response.headers['content-length'] ?? Number.NaN);
    const body = response.body;
    const fits =
      !(length > maxEntry) &&
      typeof body !== 'string' &&
      !(body instanceof Uint8Array && body.byteLength > maxEntry) &&
      // RFC 9111 lets a shared cache keep Set-Cookie; serving one client's cookie to others
      // is never what a gateway in front of an application wants.
      response.headers['set-cookie'] === undefined &&
      parseCacheControl(request.headers['cache-control']).get('no-store') === undefined;
    if (fits) {
      try {
        entry = entryOf(exchange, Buffer.alloc(0), options);
      } catch (error) {
        fault(error, request, context);
      }
    }
    if (entry === null) return { entry: null, response: uncached(response, forward) };
    const whole =
      body === null
        ? Buffer.alloc(0)
        : body instanceof Uint8Array
          ? Buffer.from(body.buffer, body.byteOffset, body.byteLength)
          : await bufferUpTo(body as Readable, maxEntry);
    if (whole instanceof Readable) {
      return { entry: null, response: uncached({ ...response, body: whole }, forward) };
    }
    entry = { ...entry, body: whole, size: whole.length + 512 };
    const outcome = storeUp ? await keep(fetch, key, entry) : 'store-unavailable';
    return {
      entry: fetch.invalidated ? null : entry,
      response: answer(entry, request, forwarded(stale, outcome)),
    };
  }

  /** No stored variant can answer: one request per key goes upstream, the others wait. */
  async function miss(forward: Forward): Promise<GatewayResponse> {
    const { key, request } = forward;
    const inflight = pending.get(key);
    if (inflight) {
      const entry = await inflight;
      if (entry !== null && usable(entry, request.headers) === 'fresh') {
        return answer(entry, request, 'sluice; hit; detail=coalesced');
      }
    }
    if (request.method === 'HEAD' && !forward.stale) {
      const response = await forward.next(request, forward.context);
      const headers = response.headers;
      headers['cache-status'] = withCacheStatus(
        headers['cache-status'],
        forwarded(undefined, 'not-stored'),
      );
      return response;
    }
    let resolveShared!: (entry: CacheEntry | null) => void;
    const shared = new Promise<CacheEntry | null>((r) => {
      resolveShared = r;
    });
    if (!inflight) pending.set(key, shared);
    try {
      const { entry, response } = await fetchInto(forward);
      resolveShared(entry);
      return response;
    } catch (error) {
      resolveShared(null);
      throw error;
    } finally {
      if (!inflight) pending.delete(key);
    }
  }

  /** Refreshes `entry` in the background; whatever the upstream does, nothing escapes. */
  function refresh(forward: Forward): void {
    const { key } = forward;
    if (pending.has(key)) return;
    const background = { ...forward.context, signal: new AbortController().signal };
    const request = unconditional(forward.request);
    const done = fetchInto({ ...forward, request, context: background })
      .then(
        ({ entry, response }) => {
          discard(response.body);
          return entry;
        },
        (error: unknown) => {
          log.warn(
            { err: error, route: routeName, path: request.path },
            'stale-while-revalidate refresh failed; the stale entry stays',
          );
          return null;
        },
      )
      .finally(() => pending.delete(key));
    pending.set(key, done);
  }

  /** Answers from the stored variants of `key`: synchronously on a hit, else upstream. */
  function lookup(
    next: Handler,
    request: GatewayRequest,
    context: GatewayContext,
    key: string,
    variants: readonly CacheEntry[],
  ): GatewayResponse | Promise<GatewayResponse> {
    let stale: CacheEntry | undefined;
    for (const entry of variants) {
      if (variantOf(entry.headers.vary, request.headers) !== entry.variant) continue;
      const verdict = usable(entry, request.headers);
      if (verdict === 'fresh') {
        const ttl = Math.floor(entry.freshness.lifetime - currentAge(entry, Date.now()));
        return answer(entry, request, `sluice; hit; ttl=${ttl}`);
      }
      if (verdict === 'stale-while-revalidate') {
        refresh({ next, request, context, key, stale: entry, storeUp: true });
        return answer(entry, request, 'sluice; hit; fwd=stale; detail=stale-while-revalidate');
      }
      stale ??= entry;
    }
    if (onlyIfCached(request.headers)) {
      return {
        status: 504,
        headers: { 'cache-status': 'sluice; fwd=miss; detail=only-if-cached' },
        body: null,
      };
    }
    return miss({ next, request, context, key, stale, storeUp: true });
  }

  /** After a non-error answer to an unsafe method, drops what it may have changed (RFC 9111 section 4.4). */
  async function invalidating(
    next: Handler,
    request: GatewayRequest,
    context: GatewayContext,
  ): Promise<GatewayResponse> {
    const response = await next(request, context);
    if (response.status < 200 || response.status >= 400) return response;
    try {
      const origin = cacheOrigin(request, trusted);
      const host = fieldValue(request.headers.host) ?? '';
      const paths = new Set([request.path + request.query]);
      for (const name of ['location', 'content-location']) {
        const path = sameOriginPath(fieldValue(response.headers[name]), host, request.path);
        if (path !== null) paths.add(path);
      }
      await Promise.all([...paths].map((path) => drop(cacheKey(origin, path))));
    } catch (error) {
      fault(error, request, context);
    }
    return response;
  }

  return (next) => (request, context) => {
    const method = request.method;
    if (method !== 'GET' && method !== 'HEAD') {
      return SAFE.has(method) ? next(request, context) : invalidating(next, request, context);
    }
    if (UNANSWERED.some((h) => request.headers[h] !== undefined)) return next(request, context);
    let key: string;
    let found: readonly CacheEntry[] | Promise<readonly CacheEntry[]>;
    try {
      key = cacheKey(cacheOrigin(request, trusted), request.path + request.query);
      found = store.variants(key);
      if (!(found instanceof Promise)) return lookup(next, request, context, key, found);
    } catch (error) {
      fault(error, request, context);
      return next(request, context);
    }
    return found.then(
      (variants) => lookup(next, request, context, key, variants),
      () => {
        storeFailed('read');
        return miss({ next, request, context, key, stale: undefined, storeUp: false });
      },
    );
  };
}

/** The request without the client's own validators, for a request the cache makes itself. */
function unconditional(request: GatewayRequest): GatewayRequest {
  const headers = { ...request.headers };
  for (const h of ANSWERED) delete headers[h];
  return { ...request, headers };
}
