import { InvalidArgumentError } from './errors.js';

/**
 * Parsers for the human units used in configuration. Each accepts what a user would write
 * in `sluice.yaml` and throws an InvalidArgumentError saying what was expected.
 */

const durationUnits: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const sizeUnits: Record<string, number> = {
  b: 1,
  kb: 1024,
  kib: 1024,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};

const ratePeriods: Record<string, number> = {
  ms: 1,
  s: 1000,
  sec: 1000,
  second: 1000,
  m: 60_000,
  min: 60_000,
  minute: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
};

export interface Rate {
  /** How many events a period admits. */
  limit: number;
  periodMs: number;
}

export const unitExamples = {
  duration: 'a duration such as 2s or 250ms',
  size: 'a size such as 64kb or 1mb',
  rate: 'a rate such as 20/s or 5/min',
  percent: 'a percentage such as 50%',
} as const;

export type UnitKind = keyof typeof unitExamples;

function invalid(kind: UnitKind, value: unknown): InvalidArgumentError {
  return new InvalidArgumentError(`expected ${unitExamples[kind]}, got ${JSON.stringify(value)}`);
}

const durationPart = /(\d+(?:\.\d+)?)\s*(ms|min|s|m|h|d)/gy;

/**
 * Milliseconds from `250ms`, `2s`, `1.5m`, `1h30m`, `2d`, or a plain number of ms
 * (as a number or a string of digits).
 */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return value;
    throw invalid('duration', value);
  }
  if (typeof value !== 'string') throw invalid('duration', value);
  const text = value.trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  durationPart.lastIndex = 0;
  let total = 0;
  let end = 0;
  for (let match = durationPart.exec(text); match; match = durationPart.exec(text)) {
    total += Number(match[1]) * durationUnits[match[2]!]!;
    end = durationPart.lastIndex;
  }
  if (end === 0 || end !== text.length) throw invalid('duration', value);
  return total;
}

/** Bytes from `64kb`, `1mb`, `512b`, `2gib` (k, m, g are powers of 1024), or a plain number. */
export function parseSize(value: string | number): number {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value >= 0) return value;
    throw invalid('size', value);
  }
  if (typeof value !== 'string') throw invalid('size', value);
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/.exec(value.trim().toLowerCase());
  const factor = match ? (match[2] === '' ? 1 : sizeUnits[match[2]!]) : undefined;
  if (match === null || factor === undefined) throw invalid('size', value);
  const bytes = Math.round(Number(match[1]) * factor);
  if (!Number.isSafeInteger(bytes)) throw invalid('size', value);
  return bytes;
}

/** `{ limit, periodMs }` from `20/s`, `5/min`, `100/h`, or a period with a count: `100/10s`. */
export function parseRate(value: string): Rate {
  if (typeof value !== 'string') throw invalid('rate', value);
  const match = /^(\d+)\s*\/\s*(.+)$/.exec(value.trim().toLowerCase());
  if (!match) throw invalid('rate', value);
  const limit = Number(match[1]);
  const unit = match[2]!.trim();
  let periodMs = ratePeriods[unit];
  if (periodMs === undefined && /^\d/.test(unit)) {
    try {
      periodMs = parseDuration(unit);
    } catch {
      throw invalid('rate', value);
    }
  }
  if (periodMs === undefined || periodMs <= 0 || limit <= 0 || !Number.isSafeInteger(limit)) {
    throw invalid('rate', value);
  }
  return { limit, periodMs };
}

/** A fraction in [0, 1] from `50%`, `12.5%`, or a number already in [0, 1]. */
export function parsePercent(value: string | number): number {
  let fraction: number;
  if (typeof value === 'number') fraction = value;
  else if (typeof value === 'string') {
    const match = /^(\d+(?:\.\d+)?)\s*%$/.exec(value.trim());
    if (!match) throw invalid('percent', value);
    fraction = Number(match[1]) / 100;
  } else throw invalid('percent', value);
  if (!(fraction >= 0 && fraction <= 1)) throw invalid('percent', value);
  return fraction;
}

const parsers: Record<UnitKind, (value: string) => unknown> = {
  duration: parseDuration,
  size: parseSize,
  rate: parseRate,
  percent: parsePercent,
};

/** Whether `value` parses as the given unit; never throws. */
export function isUnit(kind: UnitKind, value: unknown): boolean {
  if (typeof value !== 'string' && (typeof value !== 'number' || kind === 'rate')) return false;
  try {
    parsers[kind](value as string);
    return true;
  } catch {
    return false;
  }
}
