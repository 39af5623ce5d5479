import type { SchemaObject } from '../../../core/index.js';
import {
  closed,
  count,
  duration,
  listen,
  percent,
  rate,
  resiliencePolicy,
  size,
  text,
  textMap,
  texts,
  url,
} from './common.js';

const resilience = resiliencePolicy({ sidecar: false });
const headerRules = closed({ add: textMap, remove: texts, rename: textMap });
const oneOrMore = (values: string[]): SchemaObject => ({
  anyOf: [{ enum: values }, { type: 'array', items: { enum: values }, minItems: 1 }],
  expected: `one of ${values.join(', ')}, or a list of them`,
});

const rateLimit = closed(
  {
    by: { enum: ['ip', 'subject', 'apiKey', 'route'] },
    limit: rate,
    burst: count,
    store: url,
    name: text,
  },
  ['by', 'limit'],
);

// The gateway's own engineer owns the authoritative route shape; this follows
// src/gateway/config.ts as it stands and will be replaced by theirs.
const route = closed(
  {
    name: text,
    path: { type: 'string', pattern: '^/', expected: 'a path starting with /' },
    hosts: texts,
    methods: {
      type: 'array',
      items: { enum: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] },
      minItems: 1,
    },
    headers: textMap,
    upstream: text,
    auth: oneOrMore(['none', 'jwt', 'apiKey']),
    rateLimit: { anyOf: [rateLimit, { type: 'array', items: rateLimit }] },
    cache: closed({
      maxAge: duration,
      staleWhileRevalidate: duration,
      maxBytes: size,
      maxEntryBytes: size,
    }),
    body: closed({ maxBytes: size, schema: { type: ['string', 'object'] } }),
    cors: closed(
      {
        origins: texts,
        methods: texts,
        headers: texts,
        exposeHeaders: texts,
        credentials: { type: 'boolean' },
        maxAge: duration,
      },
      ['origins'],
    ),
    rewrite: closed({ prefix: { type: 'string' }, path: { type: 'string' } }),
    requestHeaders: headerRules,
    responseHeaders: headerRules,
    resilience,
    filters: {
      type: 'array',
      items: { enum: ['cors', 'auth', 'rateLimit', 'shaping', 'headers', 'cache', 'resilience'] },
    },
  },
  ['path', 'upstream'],
);

const upstream = closed(
  {
    targets: { ...texts, minItems: 1 },
    balance: { enum: ['round-robin', 'least-request'] },
    connections: count,
    connectTimeout: duration,
    headersTimeout: duration,
    bodyTimeout: duration,
    keepAliveTimeout: duration,
    preserveHost: { type: 'boolean' },
    healthCheck: closed(
      {
        path: text,
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

export const gatewaySchema: SchemaObject = closed(
  {
    listen,
    admin: closed({ listen, token: text }, ['listen', 'token']),
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
      anyOf: [{ const: false }, closed({ maxInflight: count, maxEventLoopDelay: duration })],
    },
    auth: closed({
      jwt: closed({
        jwks: url,
        keys: { type: 'array', items: { type: 'object' } },
        algorithms: { ...texts, minItems: 1 },
        issuer: { anyOf: [text, texts] },
        audience: { anyOf: [text, texts] },
        clockSkew: duration,
        forwardClaims: textMap,
        jwksCooldown: duration,
        jwksTimeout: duration,
        jwksCacheMaxAge: duration,
      }),
      apiKeys: closed(
        {
          header: text,
          keys: {
            type: 'array',
            items: closed(
              {
                id: text,
                sha256: { type: 'string', pattern: '^[0-9a-f]{64}$', expected: 'a hex SHA-256' },
              },
              ['id', 'sha256'],
            ),
          },
        },
        ['keys'],
      ),
    }),
    upstreams: { type: 'object', additionalProperties: upstream },
    routes: { type: 'array', items: route },
    accessLog: { type: 'boolean' },
    via: text,
  },
  ['routes'],
);
