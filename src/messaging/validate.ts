import { InvalidArgumentError } from '../core/errors.js';

const namePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/** Queue, topic, group and stream names: letters, digits, `.`, `_`, `-`; 1 to 200 long. */
export function checkName(kind: string, name: unknown): string {
  if (typeof name !== 'string' || !namePattern.test(name)) {
    throw new InvalidArgumentError(
      `${kind} name must be 1-200 characters of letters, digits, ".", "_" or "-" and start with a letter or digit, got ${JSON.stringify(name)}`,
    );
  }
  return name;
}

export function positiveInt(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError(`${name} must be an integer >= 1, got ${String(value)}`);
  }
  return value;
}

/** A duration or size in ms or bytes: a finite number >= 0. */
export function nonNegative(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidArgumentError(`${name} must be a finite number >= 0, got ${String(value)}`);
  }
  return value;
}

export function oneOf<const T extends string>(
  name: string,
  value: unknown,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(
      `${name} must be one of ${allowed.map((a) => `"${a}"`).join(', ')}, got ${JSON.stringify(value)}`,
    );
  }
  return value as T;
}

export function optionalString(name: string, value: unknown, maxLength = 1024): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength) {
    throw new InvalidArgumentError(
      `${name} must be a non-empty string of at most ${maxLength} characters, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

export function checkHeaders(value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidArgumentError('headers must be an object of string values');
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') {
      throw new InvalidArgumentError(`header "${k}" must be a string, got ${typeof v}`);
    }
    out[k] = v;
  }
  return out;
}

/** Rejects unknown keys, which are almost always typos of real options. */
export function knownKeys(what: string, value: object | undefined, keys: readonly string[]): void {
  if (value === undefined) return;
  if (typeof value !== 'object' || value === null) {
    throw new InvalidArgumentError(`${what} must be an object`);
  }
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) {
      throw new InvalidArgumentError(
        `unknown ${what} "${key}"; expected one of: ${keys.join(', ')}`,
      );
    }
  }
}
