import type { SchemaObject } from '../../core/index.js';
import { gatewayConfigSchema } from '../../gateway/config-schema.js';
import { closed, count, duration, percent, port, text, url } from './schema/common.js';
import { servicesSchema } from './schema/services.js';

export const drivers = ['memory', 'sqlite', 'nats', 'redis', 'rabbitmq', 'postgres'] as const;

/** `telemetry.traces`, read the same in sluice.yaml and in a standalone gateway's file. */
export const tracesSchema: SchemaObject = closed({ otlp: url, sample: percent, serviceName: text });

/** `mesh`: a control plane run by the supervisor and a sidecar beside every instance. */
export const meshSchema: SchemaObject = closed({
  enabled: { type: 'boolean', description: 'Default true once `mesh` is declared.' },
  trustDomain: {
    type: 'string',
    pattern: '^[a-z0-9._-]{1,255}$',
    expected: 'a trust domain of lower-case letters, digits, ".", "-" and "_"',
    description: 'The SPIFFE trust domain. Default sluice.local.',
  },
  port: { ...port, description: 'The control plane, on 127.0.0.1. Default 0: a free port.' },
  store: {
    ...text,
    description:
      'The registry: a SQLite file relative to this file (default data/mesh.db), or redis://, postgres://.',
  },
  storePrefix: { type: 'string', pattern: '^[a-z][a-z0-9_]{0,47}$' },
  caDir: { ...text, description: 'The CA, kept here once generated. Default data/mesh-ca.' },
});

/** The JSON Schema of `sluice.yaml`, with the unit extensions `loadConfig` understands. */
export const sluiceSchema: SchemaObject = closed(
  {
    version: { const: 1 },
    messaging: closed(
      {
        driver: { enum: [...drivers] },
        url: text,
        // Keeps this system's queues and topics apart from others on a shared engine: the
        // NATS, Redis and RabbitMQ name prefix, the PostgreSQL schema. One word, so it is
        // a valid name on every engine.
        prefix: { type: 'string', pattern: '^[a-z][a-z0-9_]{0,47}$' },
      },
      ['driver'],
    ),
    telemetry: closed({
      metrics: closed({
        port,
        path: { type: 'string', pattern: '^/' },
        enabled: { type: 'boolean' },
      }),
      traces: tracesSchema,
      // The embedded telemetry store: an OTLP/HTTP receiver for every process the
      // supervisor runs, a scraper of their /metrics, SQLite kept within these caps.
      store: closed({
        enabled: { type: 'boolean', description: 'Default true; false turns the store off.' },
        path: {
          ...text,
          description: 'SQLite file, relative to this file. Default data/telemetry.db.',
        },
        port: { ...port, description: 'OTLP/HTTP on 127.0.0.1. Default 0: a free port, printed.' },
        maxSpans: { ...count, description: 'Default 200000; the oldest go first.' },
        maxLogs: { ...count, description: 'Default 200000; the oldest go first.' },
        maxSamples: { ...count, description: 'Default 1000000; the oldest go first.' },
        maxAge: { ...duration, description: 'Default 24h: older spans, logs and samples go.' },
        scrapeInterval: {
          ...duration,
          description: 'Default 10s: how often each /metrics is read.',
        },
        forward: { ...url, description: 'An OTLP/HTTP collector that receives everything too.' },
      }),
      logs: closed({
        level: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
        pretty: { type: 'boolean' },
      }),
    }),
    control: closed({ port }, ['port']),
    // The web dashboard `sluice up` serves on 127.0.0.1; false turns it off.
    dashboard: {
      anyOf: [
        { const: false },
        closed({
          port: { ...port, description: 'Default 9467 (a free port when it is taken), printed.' },
          token: {
            ...text,
            description:
              'Bearer token for actions (replay, delete, fault, restart). Default: random, printed.',
          },
        }),
      ],
    },
    mesh: meshSchema,
    gateway: gatewayConfigSchema,
    services: servicesSchema,
  },
  ['version'],
);
