import type { TLSSocket } from 'node:tls';
import { fieldValue, splitList } from './cache-control.js';
import { peerAddress, type TrustedProxies } from './forwarding.js';
import type { GatewayRequest } from './types.js';

/**
 * The part of a cache key that names the origin as the upstream sees it: scheme and Host,
 * and, from a trusted proxy, the `X-Forwarded-Host`, `X-Forwarded-Proto` and `Forwarded`
 * host/proto the gateway passes on. An upstream may build links or redirects from any of
 * them, so two requests that differ in one must never share an entry. (From any other
 * peer the gateway replaces those headers with its own, derived from Host and the socket.)
 */
export function cacheOrigin(request: GatewayRequest, trusted: TrustedProxies): string {
  const socket = request.raw.socket;
  const scheme = (socket as Partial<TLSSocket>).encrypted ? 'https' : 'http';
  const headers = request.headers;
  const origin = `${scheme}://${fieldValue(headers.host) ?? ''}`;
  if (!trusted.trusts(peerAddress(socket.remoteAddress))) return origin;
  const forwarded = [
    fieldValue(headers['x-forwarded-host']) ?? '',
    fieldValue(headers['x-forwarded-proto']) ?? '',
    forwardedHostAndProto(fieldValue(headers.forwarded)),
  ];
  if (forwarded.every((value) => value === '')) return origin;
  return `${origin} ${JSON.stringify(forwarded)}`;
}

/** The `host=` and `proto=` parameters of every `Forwarded` element; `for=` is the client's. */
function forwardedHostAndProto(value: string | undefined): string {
  if (value === undefined) return '';
  const kept: string[] = [];
  for (const element of splitList(value)) {
    for (const pair of element.split(';')) {
      const name = pair.split('=', 1)[0]!.trim().toLowerCase();
      if (name === 'host' || name === 'proto') kept.push(pair.trim());
    }
  }
  return kept.join(';');
}

/** The key of a URL: origin, then path and query. */
export function cacheKey(origin: string, pathAndQuery: string): string {
  return origin + pathAndQuery;
}

/**
 * The path and query of `location` (a Location or Content-Location value) when it names
 * the same origin as `host`, else null: a response may only invalidate its own origin's
 * entries (RFC 9111 section 4.4).
 */
export function sameOriginPath(
  location: string | undefined,
  host: string,
  base: string,
): string | null {
  if (location === undefined || host === '') return null;
  try {
    const resolved = new URL(location, `http://${host}${base}`);
    if (resolved.host !== new URL(`http://${host}`).host) return null;
    return resolved.pathname + resolved.search;
  } catch {
    return null;
  }
}
