/** The JWT algorithms a route may allow; `none` is never among them. */
export const JWT_ALGORITHMS = [
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;

/** The methods a route may match. */
export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/**
 * The `gateway:` section of `sluice.yaml`, and the object `createGateway` takes. Durations,
 * sizes and rates may be numbers (ms, bytes) or strings in the units `sluice/core` parses
 * (`2s`, `64kb`, `20/s`).
 */
export type Duration = string | number;
export type Size = string | number;

export interface GatewayConfig {
  /** `host:port` or a port; default `127.0.0.1:8080`. */
  listen?: string | number;
  /** Serve HTTPS; the certificate files are read again on every reload and when they change. */
  tls?: TlsConfig | undefined;
  /** HTTP/2 beside HTTP/1.1, chosen per connection by ALPN; needs `tls`. */
  http2?: boolean;
  admin?: AdminConfig;
  /** Addresses and CIDR ranges whose X-Forwarded-For/Forwarded we believe. */
  trustedProxies?: string[];
  limits?: LimitsConfig;
  /** Adaptive load shedding for the whole gateway (503 + Retry-After). */
  shedding?: SheddingConfig | false;
  auth?: AuthConfig;
  upstreams?: Record<string, UpstreamConfig>;
  routes: RouteConfig[];
  /** One access log line per response (pino); the `sluice gateway` command turns it on. */
  accessLog?: boolean;
  /** A server span per request, context passed upstream; default on. */
  tracing?: boolean;
  /** Prometheus metrics per route and upstream; default on. */
  metrics?: boolean;
  /** Name in `Via`; default `sluice`. */
  via?: string;
  /**
   * Request header names with `_` (`X_User_Id`): `drop` (default, as nginx does) or
   * `allow`. CGI-style upstreams read `_` and `-` alike, so `X_User_Id` would pass for the
   * `X-User-Id` the gateway sets from a verified token.
   */
  underscoreHeaders?: 'drop' | 'allow';
}

/** PEM files, relative to the configuration file. */
export interface TlsConfig {
  /** The certificate, followed by its intermediates. */
  cert: string;
  key: string;
  /** Extra CA certificates, used to complete the chain sent to clients. */
  ca?: string;
  /** Default TLSv1.2. */
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** Mutual TLS: ask clients for a certificate that chains to `clientCert.ca`. */
  clientCert?: ClientCertConfig;
}

export interface ClientCertConfig {
  /** The CA bundle (PEM) client certificates must chain to; nothing else is trusted. */
  ca: string;
  /**
   * `require` (default): a client without a good certificate fails the handshake.
   * `request`: one without a certificate is served with no identity; a bad one is refused.
   */
  mode?: 'require' | 'request';
  /**
   * Request header that carries the verified subject upstream (RFC 4514 form, e.g.
   * `CN=alice,O=Storefront`). Whatever a client sends under that name is dropped.
   */
  subjectHeader?: string;
}

export interface AdminConfig {
  listen: string | number;
  /** Bearer token every admin call must present. */
  token: string;
}

export interface LimitsConfig {
  maxHeaderSize?: Size;
  /** Time a client has to send the request headers. */
  headersTimeout?: Duration;
  /** Time a client has to send the whole request. */
  requestTimeout?: Duration;
  keepAliveTimeout?: Duration;
  /** Default body limit for routes that set none. */
  maxBodySize?: Size;
  /** How long shutdown waits for in-flight requests. */
  drainTimeout?: Duration;
}

export interface SheddingConfig {
  /** Requests in flight above which the gateway answers 503 at once; default 10000. */
  maxInflight?: number;
  /** Retry-After on a shed request; default 1s. */
  retryAfter?: Duration;
  /** Shed while the event loop lags (p99) more than this; default 500ms. */
  maxEventLoopDelay?: Duration;
}

export interface JwtConfig {
  /** JWKS URL; keys cached and refetched (rate-limited) on an unknown `kid`. */
  jwks?: string;
  /** Static public keys as JWKs. */
  keys?: Record<string, unknown>[];
  /** Shared secret for HS* algorithms (at least 32 characters); use `${ENV}`. */
  secret?: string;
  /** Explicit allow-list; `none` is refused and HS* cannot be mixed with asymmetric algorithms. */
  algorithms: (typeof JWT_ALGORITHMS)[number][];
  issuer?: string | string[];
  audience?: string | string[];
  clockSkew?: Duration;
  /** Claim name to upstream header name, e.g. `{ sub: x-user-id }`. */
  forwardClaims?: Record<string, string>;
  /** Minimum time between two JWKS fetches. */
  jwksCooldown?: Duration;
  jwksTimeout?: Duration;
  jwksCacheMaxAge?: Duration;
}

export interface ApiKeyConfig {
  /** Header carrying the key; default `x-api-key`. */
  header?: string;
  /** Keys stored as hex SHA-256 of the key, never the key itself. */
  keys: { id: string; sha256: string }[];
}

export interface AuthConfig {
  jwt?: JwtConfig;
  apiKeys?: ApiKeyConfig;
}

export interface ResilienceConfig {
  /** The whole upstream exchange, until response headers; the work is aborted. */
  timeout?: Duration;
  retry?: {
    attempts?: number;
    backoff?: 'exponential' | 'constant';
    delay?: Duration;
    maxDelay?: Duration;
    budget?: string | number;
  };
  breaker?: {
    failureRate?: string | number;
    slowCallRate?: string | number;
    slowCall?: Duration;
    minimumCalls?: number;
    window?: Duration;
    openFor?: Duration;
  };
  /** Most concurrent requests to the upstream, or `{ max, queue }`. */
  bulkhead?: number | { max: number; queue?: number };
  /**
   * The adaptive concurrency limit. On by default for every upstream, learning from that
   * upstream's calls only; a route that sets it gets a limit of its own; `false` turns it off.
   */
  concurrency?: ConcurrencyConfig | false;
}

export interface ConcurrencyConfig {
  /** The limit before the first minimum RTT is known; default 100. */
  initial?: number;
  /** The floor, and the concurrency while the minimum RTT is measured; default 16 (or `initial`/`max` when lower). */
  min?: number;
  /** Default 1000. */
  max?: number;
  /** Latency up to the minimum RTT plus this share of it is not queueing; default 25%. */
  buffer?: string | number;
  /** How often the minimum RTT is measured again; default 60s (plus up to 15% jitter). */
  probeInterval?: Duration;
  /** Retry-After on a refused request; default 1s. */
  retryAfter?: Duration;
  /** Requests that may wait for a slot when the limit is full; default 100, 0 refuses at once. */
  queue?: number;
  /** The waiting requests are refused when no call to the upstream has ended for this long; default 1s. */
  failFast?: Duration;
}

export interface UpstreamConfig {
  targets: string[];
  balance?: 'round-robin' | 'least-request';
  connections?: number;
  connectTimeout?: Duration;
  headersTimeout?: Duration;
  bodyTimeout?: Duration;
  keepAliveTimeout?: Duration;
  preserveHost?: boolean;
  healthCheck?: HealthCheckConfig;
  outlier?:
    | { consecutiveFailures?: number; ejection?: Duration; maxEjected?: string | number }
    | false;
  resilience?: ResilienceConfig;
}

export interface HealthCheckConfig {
  path: string;
  interval?: Duration;
  timeout?: Duration;
  unhealthyThreshold?: number;
  healthyThreshold?: number;
}

export interface RateLimitConfig {
  /**
   * What a client is counted by; `subject`, `apiKey` and `clientCert` (the verified
   * certificate's subject, with `tls.clientCert`) fall back to the client IP when absent.
   */
  by: 'ip' | 'subject' | 'apiKey' | 'clientCert' | 'route';
  limit: string;
  burst?: number;
  /** `redis://…` for a limit shared by every gateway instance; local memory by default. */
  store?: string;
  /** When the store fails or is slow: admit (`fail-open`, default) or refuse (`fail-closed`). */
  onStoreError?: 'fail-open' | 'fail-closed';
  /** Longest wait for the store; default 100ms. */
  storeTimeout?: Duration;
  name?: string;
}

export interface CacheConfig {
  /** Used when the upstream gives no freshness; default: cache only what the upstream allows. */
  maxAge?: Duration;
  staleWhileRevalidate?: Duration;
  /** Byte bound of this route's share of the in-memory cache (with Redis: its maxmemory). */
  maxBytes?: Size;
  /** Largest single response kept; default 1mb. */
  maxEntryBytes?: Size;
  /** Most variants (`Vary`) kept per URL; default 8. */
  maxVariants?: number;
  /** `redis://…` for a cache shared by every gateway instance; this process's memory by default. */
  store?: string;
  /** Longest wait for the store before the request goes upstream uncached; default 100ms. */
  storeTimeout?: Duration;
  /** Start of every Redis key; default `sluice:cache:` (the route's name follows). */
  keyPrefix?: string;
  /**
   * The response field that speaks to this cache alone, ahead of `CDN-Cache-Control` and
   * `Cache-Control` (RFC 9213); default `Sluice-Cache-Control`. Never sent on to clients.
   */
  targetedField?: string;
}

export interface CorsConfig {
  origins: string[];
  methods?: HttpMethod[];
  headers?: string[];
  exposeHeaders?: string[];
  credentials?: boolean;
  maxAge?: Duration;
}

export interface HeaderRules {
  add?: Record<string, string>;
  remove?: string[];
  rename?: Record<string, string>;
}

export type RouteAuth = 'none' | 'jwt' | 'apiKey' | ('jwt' | 'apiKey')[];

export interface RouteConfig {
  name?: string;
  path: string;
  hosts?: string[];
  methods?: HttpMethod[];
  headers?: Record<string, string>;
  /** An upstream's name, or an origin URL. */
  upstream: string;
  /** Required unless `none`; when several are listed, any one suffices. Default `none`. */
  auth?: RouteAuth;
  rateLimit?: RateLimitConfig | RateLimitConfig[];
  cache?: CacheConfig;
  body?: { maxBytes?: Size; schema?: string | Record<string, unknown> };
  cors?: CorsConfig;
  rewrite?: { prefix?: string; path?: string };
  requestHeaders?: HeaderRules;
  responseHeaders?: HeaderRules;
  resilience?: ResilienceConfig;
  /**
   * Upgrade protocols this route tunnels (`[websocket]`); none by default, `h2c` never.
   * Any other Upgrade is served as a plain request without its upgrade headers.
   */
  upgrade?: string[];
  /**
   * Forward `X-HTTP-Method-Override` (and `X-HTTP-Method`, `X-Method-Override`), whose value
   * must then be one of `methods`; stripped by default.
   */
  methodOverride?: boolean;
  /** Filter order; default `tracing, cors, auth, rateLimit, shaping, headers, cache, resilience`. */
  filters?: FilterName[];
}

/** Every filter of a route, in the order a route without `filters` runs them. */
export const FILTER_ORDER = [
  'tracing',
  'cors',
  'auth',
  'rateLimit',
  'shaping',
  'headers',
  'cache',
  'resilience',
] as const;

export type FilterName = (typeof FILTER_ORDER)[number];
