import type { SchemaObject } from '../core/config/index.js';
import { closed, count, duration, name, percent, text } from '../runtime/config/schema/common.js';

/**
 * The JSON Schema of what a sidecar applies: `services.<name>.policies` (per upstream) and
 * `services.<name>.authorization`. The control plane forwards both as opaque JSON; the
 * sidecar validates them again before it swaps them in. Units are the config loader's:
 * `2s` or a number of ms, `20%` or a fraction.
 */
const retry = closed({
  /** Attempts in all, the first included: 3 means up to two retries. */
  attempts: count,
  backoff: { enum: ['constant', 'exponential', 'decorrelated'] },
  delay: duration,
  maxDelay: duration,
  /** Retries as a share of calls over the window (Linkerd: 20%). */
  budget: percent,
  minPerSecond: { type: 'number', minimum: 0 },
  budgetWindow: duration,
});

const breaker = closed({
  consecutiveFailures: count,
  failureRate: percent,
  slowCallRate: percent,
  slowCall: duration,
  minimumCalls: count,
  window: duration,
  openFor: duration,
  maxOpenFor: duration,
});

const outlierDetection = closed({
  consecutiveErrors: count,
  ejectionTime: duration,
  maxEjectionPercent: percent,
});

const split: SchemaObject = {
  type: 'array',
  minItems: 1,
  items: closed({ version: text, weight: { type: 'integer', minimum: 0 } }, ['version', 'weight']),
  expected: 'a list of { version, weight }',
};

const bulkhead: SchemaObject = {
  anyOf: [
    count,
    closed({ max: count, queue: { type: 'integer', minimum: 0 }, queueTimeout: duration }, ['max']),
  ],
  expected: 'a number of concurrent calls, or { max, queue }',
};

/** `services.<name>.policies.<upstream>`: how the sidecar calls that upstream. */
export const upstreamPolicySchema: SchemaObject = closed({
  timeout: duration,
  retry,
  breaker,
  outlierDetection,
  split,
  bulkhead,
});

const methods: SchemaObject = {
  type: 'array',
  minItems: 1,
  items: { enum: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', '*'] },
};
const path: SchemaObject = { type: 'string', pattern: '^/', expected: 'a path starting with /' };

const rule = closed(
  {
    name: name,
    /** Calling services by name, or `*` for any identity of the trust domain. */
    from: { type: 'array', minItems: 1, items: { anyOf: [name, { const: '*' }] } },
    action: { enum: ['allow', 'deny'] },
    methods,
    path,
    pathPrefix: path,
  },
  ['name', 'from', 'action'],
);

/** `services.<name>.authorization`: who may call this service, Consul-intention style. */
export const authorizationSchema: SchemaObject = closed({
  default: { enum: ['allow', 'deny'] },
  rules: { type: 'array', items: rule },
});

/** What one sidecar is given: its policies per upstream and its authorization. */
export const sidecarPolicySchema: SchemaObject = closed({
  policies: { type: 'object', propertyNames: name, additionalProperties: upstreamPolicySchema },
  authorization: authorizationSchema,
});
