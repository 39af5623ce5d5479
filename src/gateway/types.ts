import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';

/** Request headers, lower-cased names, as node:http parses them. */
export type Headers = IncomingHttpHeaders;
/** Response headers, lower-cased names. */
export type ResponseHeaders = Record<string, string | string[] | number | undefined>;

/**
 * What every filter sees. `path` is the normalised path (the one routes match and the
 * upstream receives); `query` keeps the raw query string, `?` included, or is empty.
 */
export interface GatewayRequest {
  method: string;
  path: string;
  query: string;
  headers: Headers;
  /** The streaming body; `null` when the request has none. A buffered body replaces it. */
  body: Readable | Uint8Array | null;
  /** The client connection's request; filters read it, only the server writes to it. */
  readonly raw: IncomingMessage;
  /** The protocol of an Upgrade request (`websocket`); the answer is then a 101 whose body is the upstream socket. */
  readonly upgrade?: string;
}

export interface GatewayResponse {
  status: number;
  headers: ResponseHeaders;
  body: Readable | Uint8Array | string | null;
}

/** Per-request state shared by the filters of one route. */
export interface GatewayContext {
  readonly requestId: string;
  /** The client address after the trusted-proxy rules were applied. */
  readonly clientIp: string;
  readonly routeName: string;
  readonly params: Readonly<Record<string, string>>;
  /** Aborted when the client goes away or the gateway shuts down. */
  readonly signal: AbortSignal;
  /** The authenticated consumer (JWT `sub` or API key id), once auth ran. */
  subject?: string | undefined;
  claims?: Readonly<Record<string, unknown>> | undefined;
  /** How the consumer proved who it is. */
  credential?: 'jwt' | 'apiKey' | undefined;
  /**
   * The subject of the client's verified certificate (`CN=alice,O=Storefront`), when the
   * listener asks for client certificates (`tls.clientCert`) and the client presented one.
   */
  clientSubject?: string | undefined;
  /** Extra response headers filters want on whatever response goes out (RateLimit-*). */
  readonly responseHeaders: ResponseHeaders;
  /**
   * Sends a 1xx interim response (103 Early Hints) to the client ahead of the final one;
   * nothing once the final response has begun or for an HTTP/1.0 client. Absent where no
   * client waits (a cache's background refresh).
   */
  interim?(status: number, headers: Record<string, string | string[]>): void;
}

export type Handler = (
  request: GatewayRequest,
  context: GatewayContext,
) => Promise<GatewayResponse> | GatewayResponse;

/** The one filter shape: auth, rate limits, cache, shaping and resilience are all this. */
export type Filter = (next: Handler) => Handler;

/** Applies filters so that the first one listed runs first. */
export function chain(filters: readonly Filter[], terminal: Handler): Handler {
  let handler = terminal;
  for (let i = filters.length - 1; i >= 0; i--) handler = filters[i]!(handler);
  return handler;
}
