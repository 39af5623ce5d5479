import { Readable } from 'node:stream';
import CachePolicy from 'http-cache-semantics';
import { parseDuration, parseSize } from '../../core/units.js';
import type { CacheEntry } from '../cache-store.js';
import { variantOf } from '../cache-variant.js';
import type { CompileEnv } from '../compile.js';
import type { RouteConfig } from '../config.js';
import type { Filter, GatewayContext, GatewayRequest, GatewayResponse, Handler } from '../types.js';
import { cacheStoreFor, storeErrorCounter } from './cache-setup.js';

const CONDITIONAL = [
  'if-none-match',
  'if-modified-since',
  'if-match',
  'if-unmodified-since',
  'if-range',
];
const STATUS = 'cache-status';

type PolicyRequest = CachePolicy.HttpRequest;
type Variants = readonly CacheEntry[];

function policyRequest(request: GatewayRequest): PolicyRequest {
  return { url: request.path + request.query, method: request.method, headers: request.headers };
}

function served(entry: CacheEntry, headers: CachePolicy.Headers, status: string): GatewayResponse {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k] = v;
  out['content-length'] = String(entry.body.length);
  out[STATUS] = status;
  return { status: entry.status, headers: out, body: entry.body };
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

/** What became of a forwarded response: stored, not storable, or the store failed. */
type Outcome = 'stored' | 'not-stored' | 'store-unavailable';

function forwarded(stale: CacheEntry | undefined, outcome: Outcome, notModified = false): string {
  const status = `sluice; fwd=${stale ? 'stale' : 'miss'}${notModified ? '; fwd-status=304' : ''}`;
  if (outcome === 'stored') return `${status}; stored`;
  if (outcome === 'store-unavailable') return `${status}; detail=store-unavailable`;
  return status;
}

/** Reads up to `max` bytes; past that, gives back a stream of everything (nothing lost). */
async function bufferUpTo(body: Readable, max: number): Promise<Buffer | Readable> {
  const chunks: Buffer[] = [];
  let size = 0;
  const iterator = body[Symbol.asyncIterator]();
  for (;;) {
    const { value, done } = await iterator.next();
    if (done) return Buffer.concat(chunks);
    chunks.push(value as Buffer);
    size += (value as Buffer).length;
    if (size > max) {
      return Readable.from(
        (async function* () {
          yield* chunks;
          for (let r = await iterator.next(); !r.done; r = await iterator.next())
            yield r.value as Buffer;
        })(),
      );
    }
  }
}

/**
 * A shared HTTP cache for GET: freshness, Vary and revalidation follow
 * http-cache-semantics; a stale entry within stale-while-revalidate is served while one
 * background request refreshes it; concurrent misses for a key in this process wait for one
 * upstream request. Every response says what happened in `Cache-Status` (RFC 9211).
 *
 * Entries live in this process's memory, or in Redis (`store`) shared by every gateway
 * process. A store that fails or answers too late never fails a request: it goes upstream,
 * says `detail=store-unavailable` and counts in `sluice_gateway_cache_store_errors_total`.
 */
export function cacheFilter(route: RouteConfig, env: CompileEnv, routeName: string): Filter | null {
  const config = route.cache;
  if (!config) return null;
  const store = cacheStoreFor(config, env, routeName);
  const storeErrors = storeErrorCounter(env);
  const maxEntry = parseSize(config.maxEntryBytes ?? '1mb');
  const defaultAge =
    config.maxAge === undefined ? undefined : Math.round(parseDuration(config.maxAge) / 1000);
  const swr =
    config.staleWhileRevalidate === undefined
      ? 0
      : Math.round(parseDuration(config.staleWhileRevalidate) / 1000);
  const pending = new Map<string, Promise<CacheEntry | null>>();

  const storeFailed = (operation: 'read' | 'write'): void => {
    storeErrors?.inc({ route: routeName, operation });
  };

  /** Puts `entry` in the store; a store failure is counted, never thrown. */
  const save = (key: string, entry: CacheEntry): Outcome | Promise<Outcome> => {
    const kept = store.put(key, entry);
    if (!(kept instanceof Promise)) return kept ? 'stored' : 'not-stored';
    return kept.then(
      (yes) => (yes ? 'stored' : 'not-stored'),
      () => {
        storeFailed('write');
        return 'store-unavailable';
      },
    );
  };

  const withDefaults = (headers: Record<string, unknown>): Record<string, string | string[]> => {
    const out = { ...headers } as Record<string, string | string[]>;
    if (
      defaultAge !== undefined &&
      out['cache-control'] === undefined &&
      out.expires === undefined
    ) {
      out['cache-control'] =
        `public, max-age=${defaultAge}${swr ? `, stale-while-revalidate=${swr}` : ''}`;
    }
    return out;
  };

  /** One upstream request; resolves to the stored entry, or null if not storable. */
  async function fetchInto(
    forward: Forward,
  ): Promise<{ entry: CacheEntry | null; response: GatewayResponse }> {
    const { next, request, context, key, stale, storeUp } = forward;
    const preq = policyRequest(request);
    const headers = { ...request.headers };
    for (const h of CONDITIONAL) delete headers[h];
    if (stale) Object.assign(headers, stale.policy.revalidationHeaders(preq));
    const response = await next({ ...request, headers }, context);
    if (stale && response.status === 304) {
      if (response.body instanceof Readable) response.body.resume();
      const { policy, modified } = stale.policy.revalidatedPolicy(preq, {
        status: 304,
        headers: withDefaults(response.headers),
      });
      if (!modified) {
        const renewed: CacheEntry = { ...stale, policy };
        const status = forwarded(stale, await save(key, renewed), true);
        return { entry: renewed, response: served(renewed, policy.responseHeaders(), status) };
      }
    }
    const policy = new CachePolicy(
      preq,
      { status: response.status, headers: withDefaults(response.headers) },
      { shared: true },
    );
    const length = Number(response.headers['content-length'] ?? Number.NaN);
    const vary = response.headers.vary;
    if (
      !policy.storable() ||
      // RFC 9111 lets a shared cache keep Set-Cookie; serving one client's cookie to others
      // is never what a gateway in front of an application wants.
      response.headers['set-cookie'] !== undefined ||
      String(vary ?? '').includes('*') ||
      length > maxEntry ||
      typeof response.body === 'string' ||
      (response.body instanceof Uint8Array && response.body.byteLength > maxEntry)
    ) {
      response.headers[STATUS] = forwarded(stale, storeUp ? 'not-stored' : 'store-unavailable');
      return { entry: null, response };
    }
    const whole = response.body;
    const body =
      whole === null
        ? Buffer.alloc(0)
        : whole instanceof Uint8Array
          ? Buffer.from(whole.buffer, whole.byteOffset, whole.byteLength)
          : await bufferUpTo(whole, maxEntry);
    if (body instanceof Readable) {
      response.headers[STATUS] = forwarded(stale, storeUp ? 'not-stored' : 'store-unavailable');
      return { entry: null, response: { ...response, body } };
    }
    const entry: CacheEntry = {
      policy,
      status: response.status,
      body,
      variant: variantOf(vary, request.headers),
      size: body.length + 512,
    };
    const outcome = storeUp ? await save(key, entry) : 'store-unavailable';
    return { entry, response: served(entry, policy.responseHeaders(), forwarded(stale, outcome)) };
  }

  /** No stored variant can answer: one request per key goes upstream, the others wait. */
  async function miss(forward: Forward): Promise<GatewayResponse> {
    const { key } = forward;
    const inflight = pending.get(key);
    if (inflight) {
      const entry = await inflight;
      if (entry?.policy.satisfiesWithoutRevalidation(policyRequest(forward.request))) {
        return served(entry, entry.policy.responseHeaders(), 'sluice; hit; detail=coalesced');
      }
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

  /** Answers from the stored variants of `key`: synchronously on a hit, else upstream. */
  function lookup(
    next: Handler,
    request: GatewayRequest,
    context: GatewayContext,
    key: string,
    variants: Variants,
  ): GatewayResponse | Promise<GatewayResponse> {
    const preq = policyRequest(request);
    let stale: CacheEntry | undefined;
    for (const entry of variants) {
      const verdict = entry.policy.evaluateRequest(preq);
      if (verdict.response && !verdict.revalidation) {
        return served(
          entry,
          verdict.response.headers,
          `sluice; hit; ttl=${Math.floor(entry.policy.maxAge() - entry.policy.age())}`,
        );
      }
      if (verdict.response && verdict.revalidation && !verdict.revalidation.synchronous) {
        if (!pending.has(key)) {
          const background = { ...context, signal: new AbortController().signal };
          const refresh = fetchInto({
            next,
            request,
            context: background,
            key,
            stale: entry,
            storeUp: true,
          })
            .then((r) => r.entry)
            .catch(() => null)
            .finally(() => pending.delete(key));
          pending.set(key, refresh);
        }
        return served(
          entry,
          verdict.response.headers,
          'sluice; hit; fwd=stale; detail=stale-while-revalidate',
        );
      }
      if (entry.policy.stale()) stale ??= entry;
    }
    return miss({ next, request, context, key, stale, storeUp: true });
  }

  return (next) => (request, context) => {
    if (request.method !== 'GET') return next(request, context);
    const key = `${request.headers.host ?? ''}${request.path}${request.query}`;
    const found = store.variants(key);
    if (!(found instanceof Promise)) return lookup(next, request, context, key, found);
    return found.then(
      (variants) => lookup(next, request, context, key, variants),
      () => {
        storeFailed('read');
        return miss({ next, request, context, key, stale: undefined, storeUp: false });
      },
    );
  };
}
