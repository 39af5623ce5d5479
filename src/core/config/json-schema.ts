import { type UnitKind, unitExamples } from '../units.js';
import type { SchemaObject } from './validator.js';

// What each unit accepts, as a pattern an editor can check. The parsers in units.ts stay
// the judge: these patterns only mirror them closely enough to flag typos while typing.
const unitPatterns: Record<UnitKind, string> = {
  duration:
    '^\\s*\\d+(\\.\\d+)?\\s*(([mM][sS]|[mM][iI][nN]|[sSmMhHdD])(\\d+(\\.\\d+)?\\s*([mM][sS]|[mM][iI][nN]|[sSmMhHdD]))*)?\\s*$',
  size: '^\\s*\\d+(\\.\\d+)?\\s*([bB]|[kKmMgG][iI]?[bB])?\\s*$',
  rate: '^\\s*\\d+\\s*/\\s*(\\d+(\\.\\d+)?\\s*)?[a-zA-Z]+\\s*$',
  percent: '^\\s*\\d+(\\.\\d+)?\\s*%\\s*$',
};

// The plain numbers each unit also takes (see units.ts): ms, bytes, a count per second
// never (a rate needs its period), a fraction in [0, 1].
const unitNumbers: Record<UnitKind, SchemaObject | undefined> = {
  duration: { type: 'number', minimum: 0 },
  size: { type: 'integer', minimum: 0 },
  rate: undefined,
  percent: { type: 'number', minimum: 0, maximum: 1 },
};

function unitSchema(kind: UnitKind): SchemaObject {
  const text: SchemaObject = { type: 'string', pattern: unitPatterns[kind] };
  const number = unitNumbers[kind];
  return {
    title: kind,
    ...(number === undefined ? text : { anyOf: [text, number] }),
    description: `${unitExamples[kind][0]?.toUpperCase()}${unitExamples[kind].slice(1)}.`,
  };
}

// Any scalar may be written as `${VAR}` or `${VAR:-default}`; the loader checks the value
// once interpolated, so an editor must not flag the reference itself.
const interpolation: SchemaObject = {
  $comment: 'interpolation',
  type: 'string',
  pattern: '\\$\\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\\}',
};

function isScalar(schema: SchemaObject): boolean {
  if (schema.properties || schema.items || schema.additionalProperties !== undefined) return false;
  const types = [schema.type ?? []].flat();
  return !types.includes('object') && !types.includes('array') && !schema.anyOf && !schema.oneOf;
}

/** `schema`, or a value interpolated later; the annotations stay on the outside. */
function orInterpolated(schema: SchemaObject): SchemaObject {
  const { title, description, default: fallback, examples, ...value } = schema;
  return {
    ...(title === undefined ? {} : { title }),
    ...(description === undefined ? {} : { description }),
    ...(fallback === undefined ? {} : { default: fallback }),
    ...(examples === undefined ? {} : { examples }),
    anyOf: [...(value.anyOf ?? [value]), interpolation],
  };
}

const isUnitKind = (value: unknown): value is UnitKind =>
  typeof value === 'string' && value in unitExamples;

const schemaMaps = new Set(['properties', 'patternProperties', '$defs', 'definitions']);
const schemaLists = new Set(['anyOf', 'allOf', 'oneOf', 'prefixItems']);
const schemaValues = new Set([
  'items',
  'additionalProperties',
  'not',
  'if',
  'then',
  'else',
  'contains',
]);

function mapValues(map: SchemaObject): SchemaObject {
  return Object.fromEntries(Object.entries(map).map(([name, sub]) => [name, toJsonSchema(sub)]));
}

/**
 * A standard JSON Schema (draft-07, what editors' YAML and JSON language servers read) from
 * one of our config schemas: `unit` becomes the string pattern or plain number that unit
 * takes, `format: <unit>` a pattern, and `expected` the description where there is none.
 */
export function toJsonSchema(schema: SchemaObject): SchemaObject {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return schema;
  const out: SchemaObject = {};
  let unit: UnitKind | undefined;
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'unit' && isUnitKind(value)) unit = value;
    else if (key === 'format' && isUnitKind(value)) out.pattern = unitPatterns[value];
    else if (key === 'expected') out.description ??= `Expected ${value}.`;
    else if (schemaMaps.has(key)) out[key] = mapValues(value);
    else if (schemaLists.has(key) && Array.isArray(value)) out[key] = value.map(toJsonSchema);
    else if (schemaValues.has(key)) out[key] = toJsonSchema(value);
    else out[key] = value;
  }
  if (unit !== undefined) {
    const { type: _type, ...rest } = out;
    return orInterpolated({ ...unitSchema(unit), ...rest });
  }
  return isScalar(out) ? orInterpolated(out) : out;
}
