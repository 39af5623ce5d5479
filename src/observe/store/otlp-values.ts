import { OtlpPayloadError } from './otlp-decode.js';
import type { Attributes, AttributeValue } from './query.js';

/**
 * Readers for the values of a decoded OTLP request, in either encoding: OTLP/JSON gives
 * hex ids and 64-bit integers as strings; protobuf gives bytes and Long objects.
 */

type Loose = Record<string, unknown>;

export function list(value: unknown): Loose[] {
  return Array.isArray(value) ? (value as Loose[]) : [];
}

export function object(value: unknown): Loose {
  return typeof value === 'object' && value !== null ? (value as Loose) : {};
}

export function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

const HEX = /^[0-9a-fA-F]*$/;

/** A trace or span id as lowercase hex; undefined when absent or all zero. */
export function hexId(value: unknown, bytes: 8 | 16, what: string): string | undefined {
  let hex: string;
  if (value === undefined || value === null || value === '') return undefined;
  // protobufjs leaves an unset bytes field at its prototype default, an empty array.
  if (Array.isArray(value) && value.length === 0) return undefined;
  if (typeof value === 'string') {
    if (!HEX.test(value)) throw new OtlpPayloadError(`${what} must be hex, got "${value}"`);
    hex = value.toLowerCase();
  } else if (value instanceof Uint8Array) {
    if (value.length === 0) return undefined;
    hex = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex');
  } else {
    throw new OtlpPayloadError(`${what} must be a hex string`);
  }
  if (hex.length !== bytes * 2) {
    throw new OtlpPayloadError(`${what} must be ${bytes} bytes, got ${hex.length / 2}`);
  }
  return /^0+$/.test(hex) ? undefined : hex;
}

/** A 64-bit integer (number, decimal string, bigint or Long) as a bigint; 0 when absent. */
export function bigint(value: unknown): bigint {
  if (value === undefined || value === null || value === '') return 0n;
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return BigInt(Math.trunc(value));
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value);
  if (typeof value === 'object' && 'low' in value && 'high' in value) {
    return BigInt((value as { toString(): string }).toString());
  }
  throw new OtlpPayloadError(`expected an integer, got ${JSON.stringify(value)}`);
}

/** Nanoseconds since the epoch to milliseconds, keeping microseconds. */
export function nanosToMs(value: unknown): number {
  return Number(bigint(value) / 1000n) / 1000;
}

export function number(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value !== '' && !Number.isNaN(Number(value))) {
    return Number(value);
  }
  return Number(bigint(value));
}

/** An enum: OTLP/JSON sends the number, but some encoders send the name. */
export function enumValue(value: unknown, names: readonly string[]): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    const index = names.indexOf(value);
    if (index >= 0) return index;
  }
  return 0;
}

export function anyValue(value: unknown): AttributeValue {
  const v = object(value);
  if (has(v, 'stringValue')) return text(v.stringValue);
  if (has(v, 'boolValue')) return v.boolValue === true;
  if (has(v, 'intValue')) return number(v.intValue);
  if (has(v, 'doubleValue')) return number(v.doubleValue);
  if (has(v, 'arrayValue')) return list(object(v.arrayValue).values).map(anyValue);
  if (has(v, 'kvlistValue')) return JSON.stringify(attributes(object(v.kvlistValue).values));
  if (has(v, 'bytesValue')) {
    const bytes = v.bytesValue;
    return bytes instanceof Uint8Array ? Buffer.from(bytes).toString('base64') : text(bytes);
  }
  return null;
}

export function attributes(value: unknown): Attributes {
  const out: Attributes = {};
  for (const kv of list(value)) {
    const key = text(kv.key);
    if (key !== '') out[key] = anyValue(kv.value);
  }
  return out;
}

function has(value: Loose, key: string): boolean {
  return Object.hasOwn(value, key) && value[key] !== undefined && value[key] !== null;
}
