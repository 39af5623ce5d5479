import type { SchemaObject } from '../core/config/index.js';
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

const resilience = closed({
  timeout: duration,
  retry: closed({
    attempts: count,
    backoff: { enum: ['constant', 'exponential'] },
    delay: duration,
    maxDelay: duration,
    budget: percent,
  }),
  breaker: closed({
    failureRate: percent,
    slowCallRate: percent,
    slowCall: duration,
    minimumCalls: count,
    window: duration,
    openFor: duration,
  }),
  bulkhead: {
    anyOf: [count, closed({ max: count, queue: { type: 'integer', minimum: 0 } }, ['max'])],
    expected: 'a number of concurrent requests, or { max, queue }',
  },
  concurrency: {
    anyOf: [
      { const: false },
      closed({
        initial: count,
        min: count,
        max: count,
        buffer: percent,
        probeInterval: duration,
        retryAfter: duration,
      }),
    ],
    expected: 'false, or { initial, min, max, buffer, probeInterval, retryAfter }',
  },
});

const headerRules = closed({ add: textMap, remove: texts, rename: textMap });

const rateLimit = closed(
  {
    by: { enum: ['ip', 'subject', 'apiKey', 'clientCert', 'route'] },
    limit: rate,
    burst: count,
    store: redisUrl,
    onStoreError: { enum: ['fail-open', 'fail-closed'] },
    storeTimeout: duration,
    name: text,
  },
  ['by', 'limit'],
);

// With a Redis store the byte bound is Redis's own maxmemory.
const cache: SchemaObject = {
  ...closed({
    maxAge: duration,
    staleWhileRevalidate: duration,
    maxBytes: size,
    maxEntryBytes: size,
    maxVariants: count,
    store: redisUrl,
    storeTimeout: duration,
    keyPrefix: text,
    targetedField: {
      type: 'string',
      pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$",
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
    name: text,
    path,
    hosts: texts,
    methods: { type: 'array', items: method, minItems: 1 },
    headers: textMap,
    upstream: text,
    auth: {
      anyOf: [
        { enum: authMode },
        { type: 'array', items: { enum: ['jwt', 'apiKey'] }, minItems: 1 },
      ],
      expected: 'none, jwt, apiKey, or a list of jwt and apiKey',
    },
    rateLimit: { anyOf: [rateLimit, { type: 'array', items: rateLimit, minItems: 1 }] },
    cache,
    body: closed({ maxBytes: size, schema: { type: ['string', 'object'] } }),
    cors: closed(
      {
        origins: { ...texts, minItems: 1 },
        methods: { type: 'array', items: method },
        headers: texts,
        exposeHeaders: texts,
        credentials: flag,
        maxAge: duration,
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
    filters: { type: 'array', items: { enum: filterNames }, uniqueItems: true },
  },
  ['path', 'upstream'],
);

const upstream = closed(
  {
    targets: { type: 'array', items: httpUrl, minItems: 1 },
    balance: { enum: ['round-robin', 'least-request'] },
    connections: count,
    connectTimeout: duration,
    headersTimeout: duration,
    bodyTimeout: duration,
    keepAliveTimeout: duration,
    preserveHost: flag,
    healthCheck: closed(
      {
        path,
        interval: duration,
        timeout: duration,
        unhealthyThreshold: count,
        healthyThreshold: count,
      },
      ['path'],
    ),
    outlier: {
      anyOf: [
        { const: false },
        closed({ consecutiveFailures: count, ejection: duration, maxEjected: percent }),
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
      { ca: pemFile, mode: { enum: ['require', 'request'] }, subjectHeader: headerName },
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
    listen,
    tls,
    http2: flag,
    admin: closed(
      { listen, token: { type: 'string', minLength: 16, expected: 'a token of 16+ characters' } },
      ['listen', 'token'],
    ),
    trustedProxies: texts,
    limits: closed({
      maxHeaderSize: size,
      headersTimeout: duration,
      requestTimeout: duration,
      keepAliveTimeout: duration,
      maxBodySize: size,
      drainTimeout: duration,
    }),
    shedding: {
      anyOf: [
        { const: false },
        closed({
          maxInflight: count,
          retryAfter: duration,
          maxEventLoopDelay: duration,
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
          issuer: { anyOf: [text, texts] },
          audience: { anyOf: [text, texts] },
          clockSkew: duration,
          forwardClaims: textMap,
          jwksCooldown: duration,
          jwksTimeout: duration,
          jwksCacheMaxAge: duration,
        },
        ['algorithms'],
      ),
      apiKeys: closed(
        {
          header: text,
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
    upstreams: { type: 'object', additionalProperties: upstream },
    routes: { type: 'array', items: route, minItems: 1 },
    accessLog: flag,
    tracing: flag,
    metrics: flag,
    via: text,
    underscoreHeaders: { enum: ['drop', 'allow'] },
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
