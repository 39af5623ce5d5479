import type { SchemaObject } from '../core/config/index.js';
import { bulkhead } from '../core/config/schema-parts.js';
import { JWT_ALGORITHMS } from './config.js';

/**
 * The JSON Schema of the `gateway:` section of `sluice.yaml` (the shape of
 * `GatewayConfig`). It uses the unit keywords of the core config loader: `unit: duration`
 * accepts `2s` or a number of ms, `unit: size` `64kb` or bytes, `unit: rate` `20/s`,
 * `unit: percent` `50%` or a fraction.
 */
const duration: SchemaObject = { unit: 'duration' };
const size: SchemaObject = { unit: 'size' };
const rate: SchemaObject = { unit: 'rate' };
const percent: SchemaObject = { unit: 'percent' };
const text: SchemaObject = { type: 'string', minLength: 1 };
const texts: SchemaObject = { type: 'array', items: text };
const textMap: SchemaObject = { type: 'object', additionalProperties: { type: 'string' } };
const count: SchemaObject = { type: 'integer', minimum: 1 };
const flag: SchemaObject = { type: 'boolean' };
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
const listen: SchemaObject = {
  type: ['string', 'integer'],
  pattern: '^(\\S+:)?\\d{1,5}$',
  minimum: 0,
  maximum: 65535,
  expected: 'a port or host:port such as 0.0.0.0:8080',
};
const path: SchemaObject = { type: 'string', pattern: '^/', expected: 'a path starting with /' };
const method: SchemaObject = {
  enum: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
};

function closed(properties: Record<string, SchemaObject>, required?: string[]): SchemaObject {
  return {
    type: 'object',
    additionalProperties: false,
    properties,
    ...(required === undefined ? {} : { required }),
  };
}

// Defaults as src/gateway/filters/resilience.ts and src/flow/gradient-limit.ts apply them.
const resilience = closed({
  timeout: {
    ...duration,
    examples: ['5s'],
    description: 'Time for each attempt at the upstream; none by default.',
  },
  retry: closed({
    attempts: { ...count, default: 2, description: 'Attempts in all, the first included.' },
    backoff: { enum: ['constant', 'exponential'], default: 'exponential' },
    delay: { ...duration, default: '50ms', description: 'The wait before the first retry.' },
    maxDelay: { ...duration, default: '1s', description: 'The longest exponential wait.' },
    budget: { ...percent, default: '20%', description: 'Retries as a share of calls.' },
  }),
  breaker: closed({
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
    slowCall: { ...duration, examples: ['2s'], description: 'A call longer than this is slow.' },
    minimumCalls: {
      ...count,
      default: 20,
      description: 'Calls in the window before it may open.',
    },
    window: { ...duration, default: '10s', description: 'The window the rates are taken over.' },
    openFor: { ...duration, default: '30s', description: 'How long it stays open.' },
  }),
  bulkhead: bulkhead('requests'),
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
      }),
    ],
    expected: 'false, or { initial, min, max, buffer, probeInterval, retryAfter }',
  },
});

const headerRules = closed({
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
    by: { enum: ['ip', 'subject', 'apiKey', 'clientCert', 'route'] },
    limit: { ...rate, examples: ['100/min'] },
    burst: { ...count, description: 'Requests allowed at once; default: the limit count.' },
    store: { ...redisUrl, description: 'Shares counts between gateways; in memory if unset.' },
    onStoreError: { enum: ['fail-open', 'fail-closed'], default: 'fail-open' },
    storeTimeout: { ...duration, default: '100ms' },
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
    staleWhileRevalidate: { ...duration, default: '0s', examples: ['30s'] },
    maxBytes: { ...size, default: '64mb', description: 'The in-memory cache size.' },
    maxEntryBytes: { ...size, default: '1mb', description: 'Larger responses are not stored.' },
    maxVariants: { ...count, default: 8, description: 'Stored variants per URL (Vary).' },
    store: { ...redisUrl, description: 'A shared Redis cache; in memory if unset.' },
    storeTimeout: { ...duration, default: '100ms' },
    keyPrefix: { ...text, default: 'sluice:cache:' },
    targetedField: {
      type: 'string',
      pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$",
      default: 'Sluice-Cache-Control',
      expected: 'a header name',
    },
  }),
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
const filterNames = [
  'tracing',
  'cors',
  'auth',
  'rateLimit',
  'shaping',
  'headers',
  'cache',
  'resilience',
];

const route = closed(
  {
    name: {
      ...text,
      examples: ['orders'],
      description: 'Names the route in logs and metrics; default route<index>.',
    },
    path: { ...path, examples: ['/api/orders/:id'] },
    hosts: {
      ...texts,
      examples: [['api.example.com']],
      description: 'Host names the route matches.',
    },
    methods: { type: 'array', items: method, minItems: 1 },
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
    },
    rateLimit: { anyOf: [rateLimit, { type: 'array', items: rateLimit, minItems: 1 }] },
    cache,
    body: closed({
      maxBytes: { ...size, examples: ['1mb'], description: 'Default: limits.maxBodySize.' },
      schema: { type: ['string', 'object'] },
    }),
    cors: closed(
      {
        origins: { ...texts, minItems: 1, examples: [['https://app.example.com']] },
        methods: {
          type: 'array',
          items: method,
          description: "Default: the route's methods, else GET, HEAD, POST, PUT, PATCH, DELETE.",
        },
        headers: {
          ...texts,
          description: 'Request headers allowed; default: those the preflight asks for.',
        },
        exposeHeaders: { ...texts, description: 'Response headers scripts may read.' },
        credentials: { ...flag, description: 'Sends Access-Control-Allow-Credentials.' },
        maxAge: { ...duration, default: '10m' },
      },
      ['origins'],
    ),
    rewrite: closed({ prefix: path, path }),
    requestHeaders: headerRules,
    responseHeaders: headerRules,
    resilience,
    upgrade: {
      type: 'array',
      items: {
        type: 'string',
        pattern: "^(?![hH]2[cC]$)[!#$%&'*+.^_`|~0-9A-Za-z-]+$",
        expected: 'an Upgrade protocol name such as websocket (never h2c)',
      },
      uniqueItems: true,
    },
    methodOverride: flag,
    filters: {
      type: 'array',
      items: { enum: filterNames },
      uniqueItems: true,
      default: filterNames,
      description: 'The filters run, in this order.',
    },
  },
  ['path', 'upstream'],
);

const upstream = closed(
  {
    targets: {
      type: 'array',
      items: httpUrl,
      minItems: 1,
      examples: [['http://127.0.0.1:3001']],
    },
    balance: { enum: ['round-robin', 'least-request'], default: 'round-robin' },
    connections: { ...count, default: 128, description: 'Connections per target at most.' },
    connectTimeout: { ...duration, default: '5s' },
    headersTimeout: { ...duration, default: '30s', description: 'Wait for response headers.' },
    bodyTimeout: { ...duration, default: '30s', description: 'Idle time within a body.' },
    keepAliveTimeout: { ...duration, default: '4s', description: 'Idle pooled connections close.' },
    preserveHost: { ...flag, default: false, description: "Forward the client's Host header." },
    healthCheck: closed(
      {
        path: { ...path, examples: ['/healthz'] },
        interval: { ...duration, default: '5s' },
        timeout: { ...duration, default: '1s' },
        unhealthyThreshold: { ...count, default: 2, description: 'Failed checks to mark down.' },
        healthyThreshold: { ...count, default: 2, description: 'Passed checks to mark up.' },
      },
      ['path'],
    ),
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
    },
    resilience,
  },
  ['targets'],
);

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

const tls = closed(
  {
    cert: pemFile,
    key: pemFile,
    ca: pemFile,
    minVersion: { enum: ['TLSv1.2', 'TLSv1.3'] },
    clientCert: closed(
      {
        ca: pemFile,
        mode: { enum: ['require', 'request'], default: 'require' },
        subjectHeader: {
          ...headerName,
          description: "Sends the client certificate's subject upstream in this header.",
        },
      },
      ['ca'],
    ),
  },
  ['cert', 'key'],
);

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
    listen: { ...listen, default: '127.0.0.1:8080' },
    tls,
    http2: { ...flag, default: false, description: 'Serve HTTP/2 too (needs tls).' },
    admin: closed(
      {
        listen: { ...listen, examples: ['127.0.0.1:9901'] },
        token: { type: 'string', minLength: 16, expected: 'a token of 16+ characters' },
      },
      ['listen', 'token'],
    ),
    trustedProxies: {
      ...texts,
      examples: [['10.0.0.0/8']],
      description: 'Proxies whose X-Forwarded-For is believed.',
    },
    // Defaults as src/gateway/listener.ts, shaping.ts and gateway.ts apply them.
    limits: closed({
      maxHeaderSize: { ...size, default: '16kb' },
      headersTimeout: { ...duration, default: '10s', description: 'Time to receive headers.' },
      requestTimeout: { ...duration, default: '30s', description: 'Time to receive a request.' },
      keepAliveTimeout: {
        ...duration,
        default: '5s',
        description: 'Idle client connections close.',
      },
      maxBodySize: { ...size, default: '10mb' },
      drainTimeout: {
        ...duration,
        default: '10s',
        description: 'On stop or reload, how long requests in flight may finish.',
      },
    }),
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
    },
    auth: closed({
      jwt: closed(
        {
          jwks: httpUrl,
          keys: { type: 'array', items: { type: 'object' }, minItems: 1 },
          secret: { type: 'string', minLength: 32, expected: 'a secret of 32+ characters' },
          algorithms: {
            type: 'array',
            items: { enum: [...JWT_ALGORITHMS] },
            minItems: 1,
            expected: 'an explicit list of algorithms such as [RS256]; none is never allowed',
          },
          issuer: { anyOf: [text, texts], examples: ['https://auth.example.com/'] },
          audience: { anyOf: [text, texts], examples: ['orders-api'] },
          clockSkew: { ...duration, default: '30s' },
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
          jwksTimeout: { ...duration, default: '2s' },
          jwksCacheMaxAge: { ...duration, default: '10m' },
        },
        ['algorithms'],
      ),
      apiKeys: closed(
        {
          header: { ...text, default: 'x-api-key' },
          keys: {
            type: 'array',
            items: closed(
              {
                id: text,
                sha256: {
                  type: 'string',
                  pattern: '^[0-9a-fA-F]{64}$',
                  expected: 'the hex SHA-256 of the key',
                },
              },
              ['id', 'sha256'],
            ),
          },
        },
        ['keys'],
      ),
    }),
    upstreams: {
      type: 'object',
      additionalProperties: upstream,
      description: 'The upstreams routes send to, by name.',
    },
    routes: { type: 'array', items: route, minItems: 1 },
    accessLog: { ...flag, description: 'Log one line per request.' },
    tracing: { ...flag, default: true },
    metrics: { ...flag, default: true },
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
