/**
 * A source of the current time in milliseconds. Components take a `Clock` so tests can
 * drive time by hand instead of sleeping.
 */
export interface Clock {
  now(): number;
}

/**
 * Reads `Date.now()`, so `mock.timers.enable({ apis: ['Date', 'setTimeout'] })` from
 * `node:test` moves it together with fake timers.
 */
export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to. */
export class ManualClock implements Clock {
  #now: number;

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  advance(ms: number): number {
    if (!(ms >= 0)) throw new RangeError(`ManualClock.advance: ms must be >= 0, got ${ms}`);
    this.#now += ms;
    return this.#now;
  }

  set(ms: number): void {
    this.#now = ms;
  }
}
