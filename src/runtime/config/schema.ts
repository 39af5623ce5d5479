import {
  closed,
  count,
  duration,
  flag,
  percent,
  port,
  text,
  url,
} from '../../core/config/schema-parts.js';
import type { SchemaObject } from '../../core/index.js';
import { gatewayConfigSchema } from '../../gateway/config-schema.js';
import { servicesSchema } from './schema/services.js';

/** A count cap of the telemetry store, as its store enforces it. */
const CAP = 'Never exceeded: a write past it removes the oldest in the same transaction.';

/**
 * Keeps a system's queues and topics apart from others on a shared engine: the NATS, Redis
 * and RabbitMQ name prefix, the PostgreSQL schema. One word, so it is a valid name on every
 * engine; its length is checked against its driver's limit beside the schema.
 */
export const messagingPrefix: SchemaObject = {
  type: 'string',
  pattern: '^[a-z][a-z0-9_]{0,47}$',
  examples: ['shop'],
  description:
    'Keeps these queues apart from others on a shared engine; at most 32 characters on NATS, 40 on PostgreSQL.',
};

export const drivers = ['memory', 'sqlite', 'nats', 'redis', 'rabbitmq', 'postgres'] as const;

/** `telemetry.traces`, read the same in sluice.yaml and in a standalone gateway's file. */
export const tracesSchema: SchemaObject = {
  ...closed({
    otlp: {
      ...url,
      examples: ['http://127.0.0.1:4318'],
      description: 'The OTLP/HTTP collector spans are sent to; none: spans stay local.',
    },
    sample: { ...percent, default: '100%', description: 'The share of traces kept.' },
    serviceName: {
      ...text,
      default: 'sluice',
      description: 'The service.name resource attribute of the spans.',
    },
  }),
  description: 'Tracing (OpenTelemetry): where spans go and how many are kept.',
};

/** `mesh`: a control plane run by the supervisor and a sidecar beside every instance. */
export const meshSchema: SchemaObject = {
  ...closed({
    enabled: { ...flag, default: true, description: 'On once `mesh` is declared.' },
    trustDomain: {
      type: 'string',
      pattern: '^[a-z0-9._-]{1,255}$',
      expected: 'a trust domain of lower-case letters, digits, ".", "-" and "_"',
      default: 'sluice.local',
      description: 'The SPIFFE trust domain.',
    },
    port: { ...port, default: 0, description: 'The control plane, on 127.0.0.1; 0: a free port.' },
    store: {
      ...text,
      default: 'data/mesh.db',
      description: 'The registry: a SQLite file relative to this file, or redis://, postgres://.',
    },
    storePrefix: {
      type: 'string',
      pattern: '^[a-z][a-z0-9_]{0,47}$',
      examples: ['shop_mesh'],
      description: 'Keeps this registry apart from others in a shared Redis or PostgreSQL.',
    },
    caDir: { ...text, default: 'data/mesh-ca', description: 'The CA, kept here once generated.' },
  }),
  description:
    'The service mesh: a control plane, and a sidecar with mutual TLS beside every instance.',
};

/** The JSON Schema of `sluice.yaml`, with the unit extensions `loadConfig` understands. */
export const sluiceSchema: SchemaObject = closed(
  {
    version: { const: 1, examples: [1], description: 'The version of this file format; always 1.' },
    messaging: {
      ...closed(
        {
          driver: {
            enum: [...drivers],
            examples: ['sqlite'],
            description: 'The engine of queues, topics and streams.',
          },
          url: {
            ...text,
            examples: ['redis://127.0.0.1:6379'],
            description: "The engine's URL; for sqlite, a file relative to this file.",
          },
          prefix: messagingPrefix,
        },
        ['driver'],
      ),
      description: "The messaging engine the services' queues, topics and streams live in.",
    },
    telemetry: {
      ...closed({
        metrics: {
          ...closed({
            port: {
              ...port,
              default: 9464,
              description: 'Prometheus /metrics, served by sluice up.',
            },
            path: {
              type: 'string',
              pattern: '^/',
              default: '/metrics',
              description: 'The path Prometheus scrapes.',
            },
            enabled: {
              ...flag,
              default: true,
              description: 'On once `telemetry.metrics` is declared.',
            },
          }),
          description: 'Prometheus metrics of the supervisor and what it runs.',
        },
        traces: tracesSchema,
        // The embedded telemetry store: an OTLP/HTTP receiver for every process the
        // supervisor runs, a scraper of their /metrics, SQLite kept within these caps.
        store: {
          ...closed({
            enabled: { ...flag, default: true, description: 'false turns the store off.' },
            path: {
              ...text,
              default: 'data/telemetry.db',
              description: 'SQLite file, relative to this file.',
            },
            port: {
              ...port,
              default: 0,
              description: 'OTLP/HTTP on 127.0.0.1; 0: a free port, printed.',
            },
            maxSpans: { ...count, default: 200000, description: CAP },
            maxLogs: { ...count, default: 200000, description: CAP },
            maxSamples: { ...count, default: 1000000, description: CAP },
            maxAge: {
              ...duration,
              default: '24h',
              description:
                'Older spans, logs and samples go, checked every 30 s: a record outlives it by 30 s at most.',
            },
            scrapeInterval: {
              ...duration,
              default: '10s',
              description: 'How often each /metrics is read.',
            },
            forward: {
              ...url,
              examples: ['http://127.0.0.1:4318'],
              description: 'An OTLP/HTTP collector that receives everything too.',
            },
          }),
          description:
            'The embedded telemetry store of spans, logs and metrics the dashboard reads.',
        },
        logs: {
          ...closed({
            level: {
              enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
              default: 'info',
              description: 'The least severe level logged.',
            },
            pretty: {
              ...flag,
              description:
                'Human-readable lines instead of JSON; default: on a terminal. --log-format wins.',
            },
          }),
          description: 'The structured logs (pino) of the supervisor and the gateway.',
        },
      }),
      description: 'Metrics, traces, logs, and the store that keeps them.',
    },
    control: {
      ...closed({ port: { ...port, examples: [9470], description: 'The control API.' } }, ['port']),
      description:
        "The supervisor's control API on 127.0.0.1: the system's status, instance kills.",
    },
    // The web dashboard `sluice up` serves on 127.0.0.1; false turns it off.
    dashboard: {
      anyOf: [
        { const: false },
        closed({
          port: {
            ...port,
            default: 9467,
            description: 'A free port when it is taken; printed.',
          },
          token: {
            ...text,
            description:
              'Bearer token for actions (replay, delete, fault, restart). Default: random, printed.',
          },
        }),
      ],
      description: 'The web dashboard on 127.0.0.1; false turns it off.',
    },
    mesh: meshSchema,
    gateway: {
      ...gatewayConfigSchema,
      description: 'The API gateway: the entry point of the system.',
    },
    services: servicesSchema,
  },
  ['version'],
);
