import { Readable } from 'node:stream';
import CachePolicy from 'http-cache-semantics';
import { parseDuration, parseSize } from '../../core/units.js';
import { type CacheEntry, CacheStore } from '../cache-store.js';
import type { RouteConfig } from '../config.js';
import type { Filter, GatewayContext, GatewayRequest, GatewayResponse, Handler } from '../types.js';

const CONDITIONAL = [
  'if-none-match',
  'if-modified-since',
  'if-match',
  'if-unmodified-since',
  'if-range',
];
const STATUS = 'cache-status';

type PolicyRequest = CachePolicy.HttpRequest;

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
 * background request refreshes it; concurrent misses for a key wait for one upstream
 * request. Every response says what happened in `Cache-Status` (RFC 9211).
 */
export function cacheFilter(route: RouteConfig): Filter | null {
  const config = route.cache;
  if (!config) return null;
  const store = new CacheStore(parseSize(config.maxBytes ?? '64mb'));
  const maxEntry = parseSize(config.maxEntryBytes ?? '1mb');
  const defaultAge =
    config.maxAge === undefined ? undefined : Math.round(parseDuration(config.maxAge) / 1000);
  const swr =
    config.staleWhileRevalidate === undefined
      ? 0
      : Math.round(parseDuration(config.staleWhileRevalidate) / 1000);
  const pending = new Map<string, Promise<CacheEntry | null>>();

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

  /** One upstream request for `key`; resolves to the stored entry, or null if not storable. */
  async function fetchInto(
    next: Handler,
    request: GatewayRequest,
    context: GatewayContext,
    key: string,
    stale?: CacheEntry,
  ): Promise<{ entry: CacheEntry | null; response: GatewayResponse }> {
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
        store.put(key, renewed, stale);
        return {
          entry: renewed,
          response: served(
            renewed,
            policy.responseHeaders(),
            'sluice; fwd=stale; fwd-status=304; stored',
          ),
        };
      }
    }
    const policy = new CachePolicy(
      preq,
      { status: response.status, headers: withDefaults(response.headers) },
      { shared: true },
    );
    const length = Number(response.headers['content-length'] ?? Number.NaN);
    if (
      !policy.storable() ||
      length > maxEntry ||
      !(response.body instanceof Readable || response.body === null)
    ) {
      response.headers[STATUS] = `sluice; fwd=${stale ? 'stale' : 'miss'}`;
      return { entry: null, response };
    }
    const body =
      response.body === null ? Buffer.alloc(0) : await bufferUpTo(response.body, maxEntry);
    if (body instanceof Readable) {
      response.headers[STATUS] = `sluice; fwd=${stale ? 'stale' : 'miss'}`;
      return { entry: null, response: { ...response, body } };
    }
    const entry: CacheEntry = { policy, status: response.status, body, size: body.length + 512 };
    store.put(key, entry, stale);
    return {
      entry,
      response: served(
        entry,
        policy.responseHeaders(),
        `sluice; fwd=${stale ? 'stale' : 'miss'}; stored`,
      ),
    };
  }

  return (next) => async (request, context) => {
    if (request.method !== 'GET') return next(request, context);
    const key = `${request.headers.host ?? ''}${request.path}${request.query}`;
    const preq = policyRequest(request);
    let stale: CacheEntry | undefined;
    for (const entry of store.variants(key)) {
      const verdict = entry.policy.evaluateRequest(preq);
      if (verdict.response && !verdict.revalidation) {
        store.hits++;
        return served(
          entry,
          verdict.response.headers,
          `sluice; hit; ttl=${Math.floor(entry.policy.timeToLive() / 1000)}`,
        );
      }
      if (verdict.response && verdict.revalidation && !verdict.revalidation.synchronous) {
        if (!pending.has(key)) {
          const refresh = fetchInto(
            next,
            request,
            { ...context, signal: new AbortController().signal },
            key,
            entry,
          )
            .then((r) => r.entry)
            .catch(() => null)
            .finally(() => pending.delete(key));
          pending.set(key, refresh);
        }
        store.hits++;
        return served(
          entry,
          verdict.response.headers,
          'sluice; hit; fwd=stale; detail=stale-while-revalidate',
        );
      }
      if (entry.policy.stale()) stale ??= entry;
    }
    store.misses++;
    const inflight = pending.get(key);
    if (inflight) {
      const entry = await inflight;
      if (entry?.policy.satisfiesWithoutRevalidation(preq)) {
        return served(entry, entry.policy.responseHeaders(), 'sluice; hit; detail=coalesced');
      }
    }
    let resolveShared!: (entry: CacheEntry | null) => void;
    const shared = new Promise<CacheEntry | null>((r) => {
      resolveShared = r;
    });
    if (!inflight) pending.set(key, shared);
    try {
      const { entry, response } = await fetchInto(next, request, context, key, stale);
      resolveShared(entry);
      return response;
    } catch (error) {
      resolveShared(null);
      throw error;
    } finally {
      if (!inflight) pending.delete(key);
    }
  };
}
