import { InvalidArgumentError } from '../errors.js';
import { explain } from './explain.js';
import { formatPath } from './locate.js';
import { type SchemaObject, validatorFor } from './validator.js';

/** Options with every key set: what `checkOptions` returns when the schema gives each a default. */
export type Filled<T> = { [K in keyof T]-?: Exclude<T[K], undefined> };

/** Each way `value` fails `schema`, at its key path (`policies.pay.retry`, `keys[0].id`). */
export function problemsOf(
  schema: SchemaObject,
  value: unknown,
): { path: string; message: string }[] {
  const validate = validatorFor(schema);
  if (validate(value)) return [];
  return explain(validate.errors ?? []).map(({ segments, message }) => ({
    path: formatPath(
      segments.map((s) => (typeof s === 'string' && /^\d+$/.test(s) ? Number(s) : s)),
    ),
    message,
  }));
}

/**
 * Options passed in code (a driver's, say), checked against their closed schema: one
 * SLUICE_INVALID_ARGUMENT names every bad key, else the options come back with the
 * schema's top-level defaults filled in where a key is absent or undefined.
 */
export function checkOptions<T>(what: string, schema: SchemaObject, options: unknown = {}): T {
  const problems = problemsOf(schema, options);
  if (problems.length > 0) {
    const list = problems.map(({ path, message }) =>
      path === '' ? message : `${path}: ${message}`,
    );
    throw new InvalidArgumentError(`${what}: ${list.join('; ')}`);
  }
  const filled: Record<string, unknown> = {};
  for (const [key, sub] of Object.entries(schema.properties ?? {})) {
    const given = (options as Record<string, unknown>)[key];
    const fallback = (sub as SchemaObject).default;
    if (given !== undefined) filled[key] = given;
    else if (fallback !== undefined) filled[key] = fallback;
  }
  return filled as T;
}
