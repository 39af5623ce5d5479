import type { SchemaObject } from '../core/config/index.js';
import {
  bulkhead,
  closed,
  count,
  duration,
  flag,
  listen,
  path,
  percent,
  rate,
  size,
  text,
  textMap,
  texts,
} from '../core/config/schema-parts.js';
import { FILTER_ORDER, HTTP_METHODS, JWT_ALGORITHMS } from './config.js';

/**
 * The JSON Schema of the `gateway:` section of `sluice.yaml` (the shape of
 * `GatewayConfig`). It uses the unit keywords of the core config loader: `unit: duration`
 * accepts `2s` or a number of ms, `unit: size` `64kb` or bytes, `unit: rate` `20/s`,
 * `unit: percent` `50%` or a fraction.
 */
const httpUrl: SchemaObject = {
  type: 'string',
  pattern: '^https?://',
  expected: 'a URL such as http://127.0.0.1:3001',
};
const redisUrl: SchemaObject = {
  type: 'string',
  pattern: '^rediss?://',
  expected: 'a URL such as redis://127.0.0.1:6379',
};
const method: SchemaObject = { enum: [...HTTP_METHODS] };

// Defaults as src/gateway/filters/resilience.ts and src/flow/gradient-limit.ts apply them.
const resilience: SchemaObject = {
  ...closed({
    timeout: {
      ...duration,
      examples: ['5s'],
      description: 'Time for each attempt at the upstream; none by default.',
    },
    retry: {
      ...closed({
        attempts: { ...count, default: 2, description: 'Attempts in all, the first included.' },
        backoff: {
          enum: ['constant', 'exponential'],
          default: 'exponential',
          description: 'How the wait grows between retries.',
        },
        delay: { ...duration, default: '50ms', description: 'The wait before the first retry.' },
        maxDelay: { ...duration, default: '1s', description: 'The longest exponential wait.' },
        budget: { ...percent, default: '20%', description: 'Retries as a share of calls.' },
      }),
      description: 'Retries of idempotent requests that failed or timed out.',
    },
    breaker: {
      ...closed({
        failureRate: {
          ...percent,
          default: '50%',
          description: 'The failure share over the window that opens it.',
        },
        slowCallRate: {
          ...percent,
          examples: ['80%'],
          description: 'The share of slow calls that opens it; off unless set.',
        },
        slowCall: {
          ...duration,
          examples: ['2s'],
          description: 'A call longer than this is slow.',
        },
        minimumCalls: {
          ...count,
          default: 20,
          description: 'Calls in the window before it may open.',
        },
        window: {
          ...duration,
          default: '10s',
          description: 'The window the rates are taken over.',
        },
        openFor: { ...duration, default: '30s', description: 'How long it stays open.' },
      }),
      description: 'A circuit breaker: fails fast while the upstream fails or is slow.',
    },
    bulkhead: {
      ...bulkhead('requests'),
      description: 'Requests to the upstream at once; more wait in the queue or get 503.',
    },
    concurrency: {
      anyOf: [
        { const: false },
        closed({
          initial: { ...count, default: 100, description: 'The limit at start (at least min).' },
          min: {
            ...count,
            default: 16,
            description: 'The limit never falls below this (default lower if initial or max is).',
          },
          max: {
            ...count,
            default: 1000,
            description: 'The limit never rises above this (at least initial and min).',
          },
          buffer: {
            ...percent,
            default: '25%',
            description: 'Latency above the best seen that still counts as uncongested.',
          },
          probeInterval: {
            ...duration,
            default: '60s',
            description: 'How often the best latency is measured again.',
          },
          retryAfter: {
            ...duration,
            default: '1s',
            description: 'The Retry-After of a request refused by the limit.',
          },
          queue: {
            type: 'integer',
            minimum: 0,
            default: 100,
            description: 'Requests that wait for a slot when the limit is full; 0 refuses at once.',
          },
          failFast: {
            ...duration,
            default: '1s',
            description: 'The waiting requests get 503 when no upstream call has ended this long.',
          },
        }),
      ],
      expected:
        'false, or { initial, min, max, buffer, probeInterval, retryAfter, queue, failFast }',
      description: 'The adaptive concurrency limit (on for every upstream); false turns it off.',
    },
  }),
  description: 'Timeout, retries, breaker, bulkhead and concurrency limit of calls upstream.',
};

const headerRules: SchemaObject = closed({
  add: { ...textMap, examples: [{ 'x-env': 'prod' }], description: 'Headers set, by name.' },
  remove: { ...texts, examples: [['x-powered-by']], description: 'Headers removed.' },
  rename: {
    ...textMap,
    examples: [{ 'x-user': 'x-client-user' }],
    description: 'Headers renamed: old name to new name.',
  },
});

const rateLimit = closed(
  {
    by: {
      enum: ['ip', 'subject', 'apiKey', 'clientCert', 'route'],
      examples: ['ip'],
      description: 'What a client is counted by; subject, apiKey and clientCert fall back to ip.',
    },
    limit: { ...rate, examples: ['100/min'], description: 'Requests per period for each client.' },
    burst: {
      ...count,
      examples: [40],
      description: 'Requests allowed at once; default: the limit count.',
    },
    store: {
      ...redisUrl,
      examples: ['redis://127.0.0.1:6379'],
      description: 'Shares counts between gateways; in memory if unset.',
    },
    onStoreError: {
      enum: ['fail-open', 'fail-closed'],
      default: 'fail-open',
      description: 'When the store fails or is slow: admit the request, or refuse it.',
    },
    storeTimeout: { ...duration, default: '100ms', description: 'The longest wait for the store.' },
    name: {
      ...text,
      examples: ['per-user'],
      description: "Names the limit; default the route's name (route#<i> when several).",
    },
  },
  ['by', 'limit'],
);

// With a Redis store the byte bound is Redis's own maxmemory.
const cache: SchemaObject = {
  ...closed({
    maxAge: {
      ...duration,
      examples: ['1m'],
      description: 'Freshness when the response does not say; unset: only what it says.',
    },
    staleWhileRevalidate: {
      ...duration,
      default: '0s',
      examples: ['30s'],
      description: 'How long a stale response is still served while it is fetched again.',
    },
    maxBytes: { ...size, default: '64mb', description: 'The in-memory cache size.' },
    maxEntryBytes: { ...size, default: '1mb', description: 'Larger responses are not stored.' },
    maxVariants: { ...count, default: 8, description: 'Stored variants per URL (Vary).' },
    store: {
      ...redisUrl,
      examples: ['redis://127.0.0.1:6379'],
      description: 'A shared Redis cache; in memory if unset.',
    },
    storeTimeout: {
      ...duration,
      default: '100ms',
      description: 'The longest wait for the store before the request goes upstream uncached.',
    },
    keyPrefix: {
      ...text,
      default: 'sluice:cache:',
      description: "Starts every Redis key; the route's name follows.",
    },
    targetedField: {
      type: 'string',
      pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$",
      default: 'Sluice-Cache-Control',
      expected: 'a header name',
      description: 'The response field for this cache alone, ahead of Cache-Control (RFC 9213).',
    },
  }),
  description: 'Response caching (RFC 9111) of GET and HEAD.',
  dependencies: {
    store: {
      properties: {
        maxBytes: {
          not: {},
          expected: "no maxBytes with a Redis store (Redis's maxmemory bounds it)",
        },
      },
    },
  },
};

const authMode = ['none', 'jwt', 'apiKey'];

const route: SchemaObject = {
  ...closed(
    {
      name: {
        ...text,
        examples: ['orders'],
        description: 'Names the route in logs and metrics; default route<index>.',
      },
      path: {
        ...path,
        examples: ['/api/orders/:id'],
        description: 'The path matched: :name takes one segment, a final * the rest.',
      },
      hosts: {
        ...texts,
        examples: [['api.example.com']],
        description: 'Host names the route matches.',
      },
      methods: {
        type: 'array',
        items: method,
        minItems: 1,
        examples: [['GET', 'POST']],
        description: 'The methods matched; default: any.',
      },
      headers: {
        ...textMap,
        examples: [{ 'x-version': 'v2' }],
        description: 'Request headers the route matches on.',
      },
      upstream: { ...text, examples: ['orders'], description: 'A name under gateway.upstreams.' },
      auth: {
        anyOf: [
          { enum: authMode },
          { type: 'array', items: { enum: ['jwt', 'apiKey'] }, minItems: 1 },
        ],
        expected: 'none, jwt, apiKey, or a list of jwt and apiKey',
        default: 'none',
        examples: ['jwt'],
        description: 'The credential a request needs; of a list, any one suffices.',
      },
      rateLimit: {
        anyOf: [rateLimit, { type: 'array', items: rateLimit, minItems: 1 }],
        description: 'A rate limit per client, or several that all apply.',
      },
      cache,
      body: {
        ...closed({
          maxBytes: { ...size, examples: ['1mb'], description: 'Default: limits.maxBodySize.' },
          schema: {
            type: ['string', 'object'],
            examples: ['schemas/order.json'],
            description: 'A JSON Schema the JSON body must satisfy, or its file.',
          },
        }),
        description: 'Checks of the request body.',
      },
      cors: {
        ...closed(
          {
            origins: {
              ...texts,
              minItems: 1,
              examples: [['https://app.example.com']],
              description: 'The origins allowed; * is any.',
            },
            methods: {
              type: 'array',
              items: method,
              examples: [['GET', 'POST']],
              description:
                "Default: the route's methods, else GET, HEAD, POST, PUT, PATCH, DELETE.",
            },
            headers: {
              ...texts,
              examples: [['content-type']],
              description: 'Request headers allowed; default: those the preflight asks for.',
            },
            exposeHeaders: {
              ...texts,
              examples: [['x-request-id']],
              description: 'Response headers scripts may read.',
            },
            credentials: {
              ...flag,
              default: false,
              description: 'Sends Access-Control-Allow-Credentials.',
            },
            maxAge: { ...duration, default: '10m', description: 'How long a preflight is cached.' },
          },
          ['origins'],
        ),
        description: 'Cross-origin requests: preflights answered, response headers added.',
      },
      rewrite: {
        ...closed({
          prefix: {
            ...path,
            examples: ['/v2'],
            description: "Replaces the literal start of the route's path (before any :name or *).",
          },
          path: {
            ...path,
            examples: ['/orders/:id'],
            description: "Replaces the whole path; :name takes the route's parameter.",
          },
        }),
        description: 'The path sent upstream.',
      },
      requestHeaders: { ...headerRules, description: 'Headers changed on the way upstream.' },
      responseHeaders: { ...headerRules, description: 'Headers changed on the way back.' },
      resilience,
      upgrade: {
        type: 'array',
        items: {
          type: 'string',
          pattern: "^(?![hH]2[cC]$)[!#$%&'*+.^_`|~0-9A-Za-z-]+$",
          expected: 'an Upgrade protocol name such as websocket (never h2c)',
        },
        uniqueItems: true,
        examples: [['websocket']],
        description: 'Upgrade protocols tunnelled; none by default.',
      },
      methodOverride: {
        ...flag,
        default: false,
        description: 'Forwards X-HTTP-Method-Override, whose method must be one of methods.',
      },
      filters: {
        type: 'array',
        items: { enum: [...FILTER_ORDER] },
        uniqueItems: true,
        default: [...FILTER_ORDER],
        description: 'The filters run, in this order.',
      },
    },
    ['path', 'upstream'],
  ),
  description: 'A route: what requests it matches, the filters they pass, the upstream they reach.',
};

const upstream: SchemaObject = {
  ...closed(
    {
      targets: {
        type: 'array',
        items: httpUrl,
        minItems: 1,
        examples: [['http://127.0.0.1:3001']],
        description: 'The base URLs of the instances.',
      },
      balance: {
        enum: ['round-robin', 'least-request'],
        default: 'round-robin',
        description: 'How a target is chosen for each request.',
      },
      connections: { ...count, default: 128, description: 'Connections per target at most.' },
      connectTimeout: { ...duration, default: '5s', description: 'Time to open a connection.' },
      headersTimeout: { ...duration, default: '30s', description: 'Wait for response headers.' },
      bodyTimeout: { ...duration, default: '30s', description: 'Idle time within a body.' },
      keepAliveTimeout: {
        ...duration,
        default: '4s',
        description: 'Idle pooled connections close.',
      },
      preserveHost: { ...flag, default: false, description: "Forward the client's Host header." },
      healthCheck: {
        ...closed(
          {
            path: { ...path, examples: ['/healthz'], description: 'The path checked with GET.' },
            interval: { ...duration, default: '5s', description: 'Time between two checks.' },
            timeout: { ...duration, default: '1s', description: 'Time a check may take.' },
            unhealthyThreshold: {
              ...count,
              default: 2,
              description: 'Failed checks to mark down.',
            },
            healthyThreshold: { ...count, default: 2, description: 'Passed checks to mark up.' },
          },
          ['path'],
        ),
        description: 'Active health checks; a target marked down gets no requests.',
      },
      // Defaults as src/gateway/upstream.ts applies them.
      outlier: {
        anyOf: [
          { const: false },
          closed({
            consecutiveFailures: {
              ...count,
              default: 5,
              description: 'Failures in a row that eject a target.',
            },
            ejection: {
              ...duration,
              default: '10s',
              description: 'The first ejection; it doubles on each repeat.',
            },
            maxEjected: {
              ...percent,
              default: '50%',
              description: 'The most targets ejected at once.',
            },
          }),
        ],
        description: 'Passive outlier ejection of failing targets; false turns it off.',
      },
      resilience,
    },
    ['targets'],
  ),
  description: 'An upstream: its targets, pools, health checks and policies.',
};

const pemFile: SchemaObject = {
  type: 'string',
  minLength: 1,
  expected: 'the path of a PEM file, relative to the configuration file',
};

const headerName: SchemaObject = {
  type: 'string',
  pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$",
  expected: 'a header name such as x-client-subject',
};

const tls: SchemaObject = {
  ...closed(
    {
      cert: {
        ...pemFile,
        examples: ['certs/gateway.pem'],
        description: 'The certificate (PEM), followed by its intermediates.',
      },
      key: {
        ...pemFile,
        examples: ['certs/gateway-key.pem'],
        description: 'Its private key (PEM).',
      },
      ca: {
        ...pemFile,
        examples: ['certs/ca.pem'],
        description: 'Extra CA certificates that complete the chain sent to clients.',
      },
      minVersion: {
        enum: ['TLSv1.2', 'TLSv1.3'],
        default: 'TLSv1.2',
        description: 'The oldest TLS version accepted.',
      },
      clientCert: {
        ...closed(
          {
            ca: {
              ...pemFile,
              examples: ['certs/clients-ca.pem'],
              description:
                'The CA bundle client certificates must chain to; nothing else is trusted.',
            },
            mode: {
              enum: ['require', 'request'],
              default: 'require',
              description:
                'require: no good certificate, no handshake; request: none is served anonymously.',
            },
            subjectHeader: {
              ...headerName,
              examples: ['x-client-subject'],
              description: "Sends the client certificate's subject upstream in this header.",
            },
          },
          ['ca'],
        ),
        description: 'Mutual TLS: clients present a certificate.',
      },
    },
    ['cert', 'key'],
  ),
  description: 'Serves HTTPS; the files (relative to this file) are read again when they change.',
};

// No h2c (cleartext HTTP/2): browsers never speak it, and behind a load balancer that
// terminates TLS, HTTP/1.1 to the gateway is the norm.
const http2NeedsTls: SchemaObject = {
  if: { properties: { tls: false } },
  // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then, never awaited
  then: {
    properties: {
      http2: { const: false, expected: 'tls to be set too: HTTP/2 is served over TLS only' },
    },
  },
};

const gatewaySection = closed(
  {
    listen: { ...listen, default: '127.0.0.1:8080', description: 'Where the gateway listens.' },
    tls,
    http2: { ...flag, default: false, description: 'Serve HTTP/2 too (needs tls).' },
    admin: {
      ...closed(
        {
          listen: {
            ...listen,
            examples: ['127.0.0.1:9901'],
            description: 'Where the admin API listens.',
          },
          token: {
            type: 'string',
            minLength: 16,
            expected: 'a token of 16+ characters',
            description: 'The bearer token every admin call presents.',
          },
        },
        ['listen', 'token'],
      ),
      description: 'The admin API: routes, upstreams, breakers, limits, metrics and reload.',
    },
    trustedProxies: {
      ...texts,
      examples: [['10.0.0.0/8']],
      description: 'Proxies whose X-Forwarded-For is believed.',
    },
    // Defaults as src/gateway/listener.ts, shaping.ts and gateway.ts apply them.
    limits: {
      ...closed({
        maxHeaderSize: { ...size, default: '16kb', description: 'The largest request head.' },
        headersTimeout: { ...duration, default: '10s', description: 'Time to receive headers.' },
        requestTimeout: { ...duration, default: '30s', description: 'Time to receive a request.' },
        keepAliveTimeout: {
          ...duration,
          default: '5s',
          description: 'Idle client connections close.',
        },
        maxBodySize: {
          ...size,
          default: '10mb',
          description: 'The largest request body of a route that sets none.',
        },
        drainTimeout: {
          ...duration,
          default: '10s',
          description: 'On stop or reload, how long requests in flight may finish.',
        },
      }),
      description: 'Limits on what clients send, and how long they may take.',
    },
    // Defaults as src/gateway/compile.ts applies them; false turns shedding off.
    shedding: {
      anyOf: [
        { const: false },
        closed({
          maxInflight: { ...count, default: 10000, description: 'Requests in flight at most.' },
          retryAfter: { ...duration, default: '1s', description: 'The Retry-After of a 503.' },
          maxEventLoopDelay: {
            ...duration,
            default: '500ms',
            description: 'Event loop delay above which requests are refused.',
          },
        }),
      ],
      description: 'Load shedding for the whole gateway (503 + Retry-After); false turns it off.',
    },
    auth: {
      ...closed({
        jwt: {
          ...closed(
            {
              jwks: {
                ...httpUrl,
                examples: ['https://auth.example.com/.well-known/jwks.json'],
                description: 'The JWKS URL; keys are cached and fetched again on an unknown kid.',
              },
              keys: {
                type: 'array',
                items: { type: 'object' },
                minItems: 1,
                description: 'Public keys as JWKs, instead of or beside jwks.',
              },
              secret: {
                type: 'string',
                minLength: 32,
                expected: 'a secret of 32+ characters',
                description:
                  'The shared secret of HS* algorithms; best read from an environment variable.',
              },
              algorithms: {
                type: 'array',
                items: { enum: [...JWT_ALGORITHMS] },
                minItems: 1,
                expected: 'an explicit list of algorithms such as [RS256]; none is never allowed',
                examples: [['RS256']],
                description: 'The algorithms accepted; HS* cannot be mixed with the others.',
              },
              issuer: {
                anyOf: [text, texts],
                examples: ['https://auth.example.com/'],
                description: 'The iss a token must carry (one of a list).',
              },
              audience: {
                anyOf: [text, texts],
                examples: ['orders-api'],
                description: 'The aud a token must carry (one of a list).',
              },
              clockSkew: {
                ...duration,
                default: '30s',
                description: 'Leeway on exp and nbf for clocks that differ.',
              },
              forwardClaims: {
                ...textMap,
                examples: [{ sub: 'x-user-id' }],
                description:
                  'Claims sent upstream: claim name to header name. A value outside ASCII goes percent-encoded (UTF-8); one with a control character is not sent.',
              },
              jwksCooldown: {
                ...duration,
                default: '30s',
                description: 'The least time between two JWKS fetches.',
              },
              jwksTimeout: { ...duration, default: '2s', description: 'The longest JWKS fetch.' },
              jwksCacheMaxAge: {
                ...duration,
                default: '10m',
                description: 'How long fetched keys are kept.',
              },
            },
            ['algorithms'],
          ),
          description: 'JSON Web Tokens, for routes with auth: jwt.',
        },
        apiKeys: {
          ...closed(
            {
              header: {
                ...text,
                default: 'x-api-key',
                description: 'The request header that carries the key.',
              },
              keys: {
                type: 'array',
                items: {
                  ...closed(
                    {
                      id: {
                        ...text,
                        examples: ['storefront-web'],
                        description: 'Names the client in logs and rate limits.',
                      },
                      sha256: {
                        type: 'string',
                        pattern: '^[0-9a-fA-F]{64}$',
                        expected: 'the hex SHA-256 of the key',
                        examples: [
                          'c018c41c1afaf2c0b66c64f97d0ee135657b699ad260f299234cd40a5d625e0e',
                        ],
                        description: 'The hex SHA-256 of the key; the key itself is never stored.',
                      },
                    },
                    ['id', 'sha256'],
                  ),
                  description: 'One client and the hash of its key.',
                },
                description: 'The keys accepted.',
              },
            },
            ['keys'],
          ),
          description: 'API keys, for routes with auth: apiKey.',
        },
      }),
      description: 'How the routes that ask for it authenticate a request.',
    },
    upstreams: {
      type: 'object',
      additionalProperties: upstream,
      description: 'The upstreams routes send to, by name.',
    },
    routes: {
      type: 'array',
      items: route,
      minItems: 1,
      description: 'The routes, matched in order: the first that matches serves the request.',
    },
    accessLog: {
      ...flag,
      examples: [true],
      description: 'Logs one line per request; on under sluice up and sluice gateway.',
    },
    tracing: {
      ...flag,
      default: true,
      description: 'A server span per request; the trace context goes upstream.',
    },
    metrics: { ...flag, default: true, description: 'Prometheus metrics per route and upstream.' },
    via: { ...text, default: 'sluice', description: 'The name this gateway adds to Via.' },
    underscoreHeaders: {
      enum: ['drop', 'allow'],
      default: 'drop',
      description: 'What becomes of request headers with an underscore in the name.',
    },
  },
  ['routes'],
);

const notByClientCert: SchemaObject = {
  type: 'object',
  properties: {
    by: {
      not: { const: 'clientCert' },
      expected: 'tls.clientCert to be set too: only then do clients present certificates',
    },
  },
};
const clientCertLimitNeedsMtls: SchemaObject = {
  if: {
    not: {
      type: 'object',
      required: ['tls'],
      properties: {
        tls: { type: 'object', required: ['clientCert'], properties: { clientCert: {} } },
      },
    },
  },
  // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then, never awaited
  then: {
    properties: {
      routes: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            rateLimit: { anyOf: [notByClientCert, { type: 'array', items: notByClientCert }] },
          },
        },
      },
    },
  },
};

export const gatewayConfigSchema: SchemaObject = {
  ...gatewaySection,
  allOf: [http2NeedsTls, clientCertLimitNeedsMtls],
};
