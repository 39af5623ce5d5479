import { closed, count, duration, name, port, text } from '../../../core/config/schema-parts.js';
import type { SchemaObject } from '../../../core/index.js';
import { authorizationSchema, upstreamPolicySchema } from '../../../mesh/policy-schema.js';

const health: SchemaObject = {
  anyOf: [
    { type: 'string', pattern: '^/' },
    closed(
      {
        path: {
          type: 'string',
          pattern: '^/',
          examples: ['/healthz'],
          description: 'The path checked with GET; a 2xx answer passes.',
        },
        interval: { ...duration, default: '500ms', description: 'Time between two checks.' },
        timeout: { ...duration, default: '2s', description: 'Time a check may take.' },
        startTimeout: {
          ...duration,
          default: '30s',
          description: 'How long an instance may take to first pass its check.',
        },
        unhealthyThreshold: {
          ...count,
          default: 3,
          description: 'Failed checks in a row that mark a ready instance unhealthy.',
        },
      },
      ['path'],
    ),
  ],
  expected: 'a path such as /healthz, or { path, interval, timeout, startTimeout }',
  examples: ['/healthz'],
  description: 'The health check that marks an instance ready; none: ready once started.',
};

const service: SchemaObject = {
  ...closed(
    {
      command: { ...text, examples: ['node server.js'], description: 'What starts one instance.' },
      cwd: { ...text, examples: ['services/orders'], description: 'Relative to this file.' },
      instances: { ...count, default: 1, description: 'Processes run from command.' },
      port: {
        ...port,
        examples: [3001],
        description: 'The first instance port; 0 or unset: free ports.',
      },
      upstreams: {
        type: 'array',
        items: name,
        uniqueItems: true,
        examples: [['payments']],
        description: 'The services this one calls.',
      },
      env: {
        type: 'object',
        additionalProperties: { type: ['string', 'number', 'boolean'], expected: 'a single value' },
        examples: [{ LOG_LEVEL: 'debug' }],
        description: 'Environment variables of every instance, beside those Sluice sets.',
        propertyNames: {
          pattern: '^[A-Za-z_][A-Za-z0-9_]*$',
          expected: 'a variable name such as DB_URL',
        },
      },
      health,
      policies: {
        type: 'object',
        propertyNames: name,
        additionalProperties: upstreamPolicySchema,
        description: 'Per upstream: the policies the sidecar applies to calls to it.',
      },
      authorization: {
        ...authorizationSchema,
        description: 'Which services may call this one (applied by its sidecar).',
      },
      // Defaults as planService in src/runtime/plan.ts applies them.
      restart: {
        ...closed({
          policy: {
            enum: ['always', 'on-failure', 'never'],
            default: 'on-failure',
            description: 'When an instance that exits is started again.',
          },
          backoff: {
            ...duration,
            default: '100ms',
            description: 'The first wait before a restart.',
          },
          maxBackoff: { ...duration, default: '30s', description: 'The longest wait.' },
        }),
        description: 'Restarts of instances that exit, with a growing wait.',
      },
      drainTimeout: {
        ...duration,
        default: '10s',
        description: 'On stop, how long an instance may take to finish.',
      },
    },
    ['command'],
  ),
  description: 'A service: the command that starts an instance, and how it is run and called.',
};

export const servicesSchema: SchemaObject = {
  type: 'object',
  description: 'The services the supervisor runs, by name.',
  propertyNames: name,
  additionalProperties: service,
};
