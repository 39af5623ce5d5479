import type { SchemaObject } from './validator.js';

export const duration: SchemaObject = { unit: 'duration' };
export const size: SchemaObject = { unit: 'size' };
export const rate: SchemaObject = { unit: 'rate' };
export const percent: SchemaObject = { unit: 'percent' };
export const text: SchemaObject = { type: 'string', minLength: 1 };
export const texts: SchemaObject = { type: 'array', items: text };
export const textMap: SchemaObject = { type: 'object', additionalProperties: { type: 'string' } };
export const flag: SchemaObject = { type: 'boolean' };
export const path: SchemaObject = {
  type: 'string',
  pattern: '^/',
  expected: 'a path starting with /',
};
export const port: SchemaObject = { type: 'integer', minimum: 0, maximum: 65535 };
export const count: SchemaObject = { type: 'integer', minimum: 1 };
/** A duration given in code, in ms (options in sluice.yaml take `unit: duration`). */
export const milliseconds: SchemaObject = { type: 'number', minimum: 0 };
export const url: SchemaObject = {
  type: 'string',
  pattern: '^[a-zA-Z][a-zA-Z0-9+.-]*://',
  expected: 'a URL such as http://host:port',
};
export const listen: SchemaObject = {
  type: ['string', 'integer'],
  pattern: '^(\\S+:)?\\d{1,5}$',
  minimum: 0,
  maximum: 65535,
  expected: 'a port or host:port such as 0.0.0.0:8080',
};
export const name: SchemaObject = {
  type: 'string',
  pattern: '^[a-z][a-z0-9-]*$',
  expected: 'a name of lowercase letters, digits and dashes',
};

/** An object whose keys are all known: anything else is reported as an unknown key. */
export function closed(
  properties: Record<string, SchemaObject>,
  required?: string[],
): SchemaObject {
  return {
    type: 'object',
    additionalProperties: false,
    properties,
    ...(required === undefined ? {} : { required }),
  };
}

/**
 * A bulkhead: a number of calls at once, or `{ max, queue }` and whatever `extra` keys the
 * one applying it takes (the sidecar adds `queueTimeout`).
 */
export function bulkhead(calls: string, extra: Record<string, SchemaObject> = {}): SchemaObject {
  return {
    anyOf: [
      count,
      closed(
        {
          max: { ...count, examples: [50], description: 'Calls at once.' },
          queue: {
            type: 'integer',
            minimum: 0,
            default: 0,
            description: 'Calls waiting for a slot.',
          },
          ...extra,
        },
        ['max'],
      ),
    ],
    examples: [50],
    expected: `a number of concurrent ${calls}, or { max, queue }`,
  };
}
