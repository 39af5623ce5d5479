import { InvalidArgumentError } from '../core/errors.js';

export interface LimitBounds {
  initial: number;
  min: number;
  max: number;
}

/**
 * Fills defaults and checks 1 <= min <= initial <= max, all whole numbers. The default floor
 * gives way to a lower `initial` or `max` set explicitly.
 */
export function limitBounds(options: Partial<LimitBounds>, defaults: LimitBounds): LimitBounds {
  const min =
    options.min ??
    Math.min(defaults.min, options.initial ?? defaults.min, options.max ?? defaults.min);
  const max = options.max ?? Math.max(defaults.max, options.initial ?? 0, min);
  const initial = options.initial ?? Math.min(max, Math.max(min, defaults.initial));
  const whole = [min, initial, max].every(Number.isInteger);
  if (!(whole && min >= 1 && min <= initial && initial <= max)) {
    throw new InvalidArgumentError(
      `concurrency limit bounds must satisfy 1 <= min <= initial <= max, got ${min}, ${initial}, ${max}`,
    );
  }
  return { initial, min, max };
}

/** A number strictly between 0 and 1. */
export function fraction(what: string, value: number): number {
  if (!(value > 0 && value < 1)) {
    throw new InvalidArgumentError(`${what} must be between 0 and 1, got ${value}`);
  }
  return value;
}
