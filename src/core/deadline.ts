import { type Clock, systemClock } from './clock.js';
import { InvalidArgumentError, TimeoutError } from './errors.js';
import { LazySignal } from './lazy-signal.js';
import { anySignal, type CombinedSignal } from './signals.js';

/** Throws InvalidArgumentError unless `ms` is a finite number >= 0. */
export function checkTimeout(ms: number): void {
  if (!(ms >= 0) || !Number.isFinite(ms)) {
    throw new InvalidArgumentError(`timeout must be a finite number of ms >= 0, got ${ms}`);
  }
}

/**
 * A point in time by which some work must finish (named so as not to clash with the timer
 * wheel's `Deadline` entries in `timers.ts`). `remaining()` and `expired` read the
 * clock; `signal` is created on first use and aborts with a TimeoutError when the deadline
 * passes (its timer is unref'd, so it never holds the process open).
 */
export class Countdown extends LazySignal {
  readonly at: number;
  readonly timeoutMs: number;
  readonly #clock: Clock;
  #timer: NodeJS.Timeout | undefined;

  constructor(timeoutMs: number, options: { clock?: Clock } = {}) {
    checkTimeout(timeoutMs);
    super();
    this.#clock = options.clock ?? systemClock;
    this.timeoutMs = timeoutMs;
    this.at = this.#clock.now() + timeoutMs;
  }

  static after(timeoutMs: number, options?: { clock?: Clock }): Countdown {
    return new Countdown(timeoutMs, options);
  }

  /** Milliseconds left, never negative. */
  remaining(): number {
    return Math.max(0, this.at - this.#clock.now());
  }

  get expired(): boolean {
    return this.#clock.now() >= this.at;
  }

  protected override signalMade(): void {
    const fire = (): void => this.abortSignal(new TimeoutError(this.timeoutMs));
    if (this.expired) fire();
    else {
      this.#timer = setTimeout(fire, this.remaining());
      this.#timer.unref();
    }
  }

  /** Stops the signal's timer; the signal then never aborts. */
  dispose(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/**
 * A signal that aborts with a TimeoutError after `timeoutMs`, or earlier with the reason of
 * `signal` if that aborts first. Dispose of it once the work is done, which clears its timer
 * and its listener on `signal`.
 */
export function deadlineSignal(
  timeoutMs: number,
  options: { signal?: AbortSignal | undefined } = {},
): CombinedSignal {
  checkTimeout(timeoutMs);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new TimeoutError(timeoutMs)), timeoutMs);
  timer.unref();
  const combined = anySignal(options.signal, controller.signal);
  const dispose = (): void => {
    clearTimeout(timer);
    combined.dispose();
  };
  return { signal: combined.signal, dispose, [Symbol.dispose]: dispose };
}
