import type { ErrorObject } from 'ajv';
import { type UnitKind, unitExamples } from '../units.js';

const typeWords: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'text',
  number: 'a number',
  integer: 'a whole number',
  boolean: 'true or false',
  null: 'nothing (null)',
};

export function words(types: unknown): string {
  const list = Array.isArray(types) ? types : [types];
  return list.map((t) => typeWords[String(t)] ?? String(t)).join(' or ');
}

export function shown(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const saved = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = saved;
    }
  }
  return row[b.length]!;
}

/** The name in `candidates` closest to `name` in spelling, if one is close enough. */
export function closestName(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const known of candidates) {
    const d = distance(name.toLowerCase(), known.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [known, d];
  }
  return best;
}

function suggestion(key: string, schema: unknown): string {
  const properties = (schema as { properties?: Record<string, unknown> } | undefined)?.properties;
  if (properties === undefined || Object.keys(properties).length === 0) return '';
  const best = closestName(key, Object.keys(properties));
  const allowed = Object.keys(properties).join(', ');
  return best === undefined ? ` (allowed: ${allowed})` : ` (did you mean "${best}"?)`;
}

/** One schema error in plain words: what was expected, and what was found. */
export function messageOf(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  const got = ` (got ${shown(error.data)})`;
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      return `unknown key "${key}"${suggestion(key, error.parentSchema)}`;
    }
    case 'required':
      return `missing required key "${String(params.missingProperty)}"`;
  }
  const expected = (error.parentSchema as { expected?: unknown } | undefined)?.expected;
  if (typeof expected === 'string') return `expected ${expected}${got}`;
  switch (error.keyword) {
    case 'type':
      return `expected ${words(params.type)}${got}`;
    case 'enum':
      return `expected one of ${(params.allowedValues as unknown[]).join(', ')}${got}`;
    case 'const':
      return `expected ${shown(params.allowedValue)}${got}`;
    case 'unit':
      return `expected ${unitExamples[error.schema as UnitKind]}${got}`;
    case 'format': {
      const format = String(params.format);
      const example = unitExamples[format as UnitKind];
      return `expected ${example ?? `a valid ${format}`}${got}`;
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `expected a number ${String(params.comparison)} ${String(params.limit)}${got}`;
    case 'minLength':
      return params.limit === 1
        ? 'expected non-empty text'
        : `expected at least ${String(params.limit)} characters${got}`;
    case 'maxLength':
      return `expected at most ${String(params.limit)} characters`;
    case 'minItems':
      return `expected at least ${String(params.limit)} item(s)`;
    case 'maxItems':
      return `expected at most ${String(params.limit)} item(s)`;
    case 'minProperties':
      return `expected at least ${String(params.limit)} key(s)`;
    case 'pattern':
      return `expected text matching ${String(params.pattern)}${got}`;
    case 'uniqueItems':
      return `expected no duplicates (items ${String(params.j)} and ${String(params.i)} are equal)`;
    case 'anyOf':
    case 'oneOf':
      if (error.message?.startsWith('expected ')) return `${error.message}${got}`;
      if (params.passingSchemas !== null && params.passingSchemas !== undefined) {
        return 'matches more than one allowed form';
      }
      break;
  }
  return error.message ?? `fails "${error.keyword}"`;
}
