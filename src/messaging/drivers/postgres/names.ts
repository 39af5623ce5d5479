import { InvalidArgumentError } from '../../../core/errors.js';

const plain = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** `name` or `schema.name`, checked and quoted for SQL text. */
export function qualifiedName(what: string, name: string): string {
  const parts = typeof name === 'string' ? name.split('.') : [];
  if (parts.length < 1 || parts.length > 2 || !parts.every((p) => plain.test(p))) {
    throw new InvalidArgumentError(
      `${what} must be an SQL identifier, optionally schema-qualified, got ${JSON.stringify(name)}`,
    );
  }
  return parts.map((p) => `"${p}"`).join('.');
}
