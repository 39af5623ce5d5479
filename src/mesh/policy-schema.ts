import type { SchemaObject } from '../core/config/index.js';
import {
  bulkhead as bulkheadPart,
  closed,
  count,
  duration,
  name,
  path,
  percent,
  text,
} from '../core/config/schema-parts.js';

/**
 * The JSON Schema of what a sidecar applies: `services.<name>.policies` (per upstream) and
 * `services.<name>.authorization`. The control plane forwards both as opaque JSON; the
 * sidecar validates them again before it swaps them in. Units are the config loader's:
 * `2s` or a number of ms, `20%` or a fraction.
 */
// Defaults as DEFAULT_UPSTREAM_POLICY and resolveUpstream in src/mesh/policy.ts apply them.
const retry: SchemaObject = {
  ...closed({
    attempts: {
      ...count,
      default: 3,
      description: 'Attempts in all, the first included: 3 means up to two retries.',
    },
    backoff: {
      enum: ['constant', 'exponential', 'decorrelated'],
      default: 'exponential',
      description: 'How the wait grows between retries (decorrelated: with jitter).',
    },
    delay: { ...duration, default: '25ms', description: 'The wait before the first retry.' },
    maxDelay: { ...duration, default: '1s', description: 'The longest wait.' },
    budget: {
      ...percent,
      default: '20%',
      description: 'Retries as a share of calls over the window.',
    },
    minPerSecond: {
      type: 'number',
      minimum: 0,
      default: 10,
      description: 'Retries per second always allowed.',
    },
    budgetWindow: {
      ...duration,
      default: '10s',
      description: 'The window the retry budget is counted over.',
    },
  }),
  description: 'Retries of failed calls, within a budget; none unless set.',
};

const breaker: SchemaObject = {
  ...closed({
    consecutiveFailures: { ...count, default: 7, description: 'Failures in a row that open it.' },
    failureRate: {
      ...percent,
      default: '50%',
      description: 'The failure share over the window that opens it (with window or a rate set).',
    },
    slowCallRate: {
      ...percent,
      default: '100%',
      description: 'The share of slow calls that opens it (with slowCall).',
    },
    slowCall: { ...duration, examples: ['2s'], description: 'A call longer than this is slow.' },
    minimumCalls: { ...count, default: 20, description: 'Calls in the window before it may open.' },
    window: { ...duration, default: '10s', description: 'The window the rates are taken over.' },
    openFor: { ...duration, default: '1s', description: 'The first time it stays open.' },
    maxOpenFor: { ...duration, default: '1m', description: 'The longest it stays open.' },
  }),
  description: 'A circuit breaker per instance of the upstream.',
};

const outlierDetection: SchemaObject = {
  ...closed({
    consecutiveErrors: {
      ...count,
      default: 5,
      description: 'Errors in a row that eject an instance.',
    },
    ejectionTime: {
      ...duration,
      default: '30s',
      description: 'How long an ejected instance gets no calls.',
    },
    maxEjectionPercent: {
      ...percent,
      default: '50%',
      description: 'The most instances ejected at once.',
    },
  }),
  description: 'Ejects instances that fail in a row from the balancing.',
};

const split: SchemaObject = {
  type: 'array',
  minItems: 1,
  items: {
    ...closed(
      {
        version: {
          ...text,
          examples: ['v2'],
          description: 'The version label of the instances that get this share.',
        },
        weight: {
          type: 'integer',
          minimum: 0,
          examples: [10],
          description: 'The share of calls, relative to the other weights.',
        },
      },
      ['version', 'weight'],
    ),
    description: 'One version and its weight.',
  },
  examples: [
    [
      { version: 'v1', weight: 90 },
      { version: 'v2', weight: 10 },
    ],
  ],
  expected: 'a list of { version, weight }',
  description: 'Splits calls between versions of the upstream by weight.',
};

const bulkhead: SchemaObject = {
  ...bulkheadPart('calls', {
    queueTimeout: {
      ...duration,
      examples: ['1s'],
      default: '10s',
      description: 'The longest a call waits in the queue for a slot.',
    },
  }),
  description: 'Calls to the upstream at once; more wait in the queue or fail.',
};

/** `services.<name>.policies.<upstream>`: how the sidecar calls that upstream. */
export const upstreamPolicySchema: SchemaObject = {
  ...closed({
    timeout: {
      ...duration,
      default: '10s',
      description: 'How long a call to the upstream may take.',
    },
    retry,
    breaker,
    outlierDetection,
    split,
    bulkhead,
  }),
  description: 'How the sidecar calls this upstream: timeout, retries, breaker, balancing.',
};

/** The methods an authorization rule may name; `*` is any. */
export const RULE_METHODS = [
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'OPTIONS',
  'TRACE',
  '*',
] as const;

const methods: SchemaObject = { type: 'array', minItems: 1, items: { enum: [...RULE_METHODS] } };

const rule: SchemaObject = {
  ...closed(
    {
      name: { ...name, examples: ['orders-may-pay'], description: 'Names the rule in logs.' },
      from: {
        type: 'array',
        minItems: 1,
        items: {
          anyOf: [name, { const: '*' }],
          description: 'A calling service, or * for any identity of the trust domain.',
        },
        examples: [['orders']],
        description: 'The calling services the rule applies to.',
      },
      action: {
        enum: ['allow', 'deny'],
        examples: ['allow'],
        description: 'What a call the rule matches gets.',
      },
      methods: {
        ...methods,
        examples: [['POST']],
        description: 'The methods matched; default: any.',
      },
      path: { ...path, examples: ['/charge'], description: 'The exact path matched.' },
      pathPrefix: { ...path, examples: ['/api/'], description: 'The path prefix matched.' },
    },
    ['name', 'from', 'action'],
  ),
  description: 'One rule: who it applies to, what it matches, allow or deny.',
};

/** `services.<name>.authorization`: who may call this service, Consul-intention style. */
export const authorizationSchema: SchemaObject = closed({
  default: {
    enum: ['allow', 'deny'],
    default: 'allow',
    description: 'What a call no rule matches gets.',
  },
  rules: {
    type: 'array',
    items: rule,
    description:
      'Of the rules that match a call, the most precise decides; at equal precision, deny.',
  },
});

/** What one sidecar is given: its policies per upstream and its authorization. */
export const sidecarPolicySchema: SchemaObject = closed({
  policies: { type: 'object', propertyNames: name, additionalProperties: upstreamPolicySchema },
  authorization: authorizationSchema,
});
