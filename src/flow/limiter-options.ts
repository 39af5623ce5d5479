import { InvalidArgumentError } from '../core/errors.js';

export const DEFAULT_MAX_KEYS = 100_000;

export function positive(what: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new InvalidArgumentError(`${what} must be a positive number, got ${value}`);
  }
  return value;
}

export function checkCost(name: string, cost: number, most: number): void {
  if (!Number.isFinite(cost) || cost < 0) {
    throw new InvalidArgumentError(`rate limiter "${name}": cost must be >= 0, got ${cost}`);
  }
  if (cost > most) {
    throw new InvalidArgumentError(
      `rate limiter "${name}": cost ${cost} exceeds the burst of ${most} and could never pass`,
    );
  }
}
