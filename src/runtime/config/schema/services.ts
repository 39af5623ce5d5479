import type { SchemaObject } from '../../../core/index.js';
import { authorizationSchema, upstreamPolicySchema } from '../../../mesh/policy-schema.js';
import { closed, count, duration, name, port, text } from './common.js';

const health: SchemaObject = {
  anyOf: [
    { type: 'string', pattern: '^/' },
    closed(
      {
        path: { type: 'string', pattern: '^/' },
        interval: duration,
        timeout: duration,
        /** How long an instance may take to first pass its check. */
        startTimeout: duration,
        unhealthyThreshold: count,
      },
      ['path'],
    ),
  ],
  expected: 'a path such as /healthz, or { path, interval, timeout, startTimeout }',
};

const service = closed(
  {
    command: text,
    cwd: text,
    instances: count,
    port,
    upstreams: { type: 'array', items: name, uniqueItems: true },
    env: {
      type: 'object',
      additionalProperties: { type: ['string', 'number', 'boolean'], expected: 'a single value' },
      propertyNames: {
        pattern: '^[A-Za-z_][A-Za-z0-9_]*$',
        expected: 'a variable name such as DB_URL',
      },
    },
    health,
    /** Per upstream: the policies the sidecar applies to calls to it. */
    policies: {
      type: 'object',
      propertyNames: name,
      additionalProperties: upstreamPolicySchema,
    },
    /** Which services may call this one (applied by its sidecar). */
    authorization: authorizationSchema,
    restart: closed({
      policy: { enum: ['always', 'on-failure', 'never'] },
      backoff: duration,
      maxBackoff: duration,
    }),
    drainTimeout: duration,
  },
  ['command'],
);

export const servicesSchema: SchemaObject = {
  type: 'object',
  propertyNames: name,
  additionalProperties: service,
};
