import { channels, type TimeoutEvent } from '../core/diagnostics.js';
import { InvalidArgumentError, TimeoutError } from '../core/errors.js';
import { type DeadlineScheduler, deadlines, type WheelEntry } from '../core/timers.js';
import { PolicyBase } from './base.js';
import { ExecutionContext } from './context.js';
import { runIn, type Work } from './policy.js';

export interface TimeoutOptions {
  name?: string;
  /** Where the deadline is kept; the process-wide coarse scheduler by default. */
  scheduler?: DeadlineScheduler;
}

/**
 * One timed call: the context the work sees, the wheel's entry for its deadline, and the
 * handler of the work's outcome, all in one object. No AbortController and no setTimeout
 * unless the work reads its signal or the deadline fires.
 */
class TimedCall<T> extends ExecutionContext implements WheelEntry {
  wheelTick = 0;
  wheelPrev: WheelEntry | undefined = undefined;
  wheelNext: WheelEntry | undefined = undefined;
  wheelState = 0;
  settled = false;

  constructor(
    readonly policy: TimeoutPolicy,
    parent: ExecutionContext,
    readonly resolve: (value: T) => void,
    readonly reject: (error: unknown) => void,
  ) {
    super(parent, parent.attempt, undefined, true);
  }

  fulfil(value: T): void {
    if (this.settled) return;
    this.finish();
    this.resolve(value);
  }

  fail(error: unknown): void {
    if (this.settled) return;
    this.finish();
    this.reject(error);
  }

  onDeadline(): void {
    if (this.settled) return;
    this.settled = true;
    const { timeoutMs, name } = this.policy;
    const error = new TimeoutError(timeoutMs);
    this.abort(error);
    if (channels.timeout.hasSubscribers) {
      channels.timeout.publish({ name, timeoutMs } satisfies TimeoutEvent);
    }
    this.reject(error);
  }

  private finish(): void {
    this.settled = true;
    this.policy.scheduler.disarm(this);
    this.dispose();
  }
}

export class TimeoutPolicy extends PolicyBase {
  readonly name: string;
  readonly scheduler: DeadlineScheduler;

  constructor(
    readonly timeoutMs: number,
    options: TimeoutOptions = {},
  ) {
    super();
    if (!(timeoutMs > 0 && Number.isFinite(timeoutMs))) {
      throw new InvalidArgumentError(`timeout must be a finite number of ms > 0, got ${timeoutMs}`);
    }
    this.name = options.name ?? 'default';
    this.scheduler = options.scheduler ?? deadlines;
  }

  [runIn]<T>(fn: Work<T>, parent: ExecutionContext): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const call = new TimedCall<T>(this, parent, resolve, reject);
      this.scheduler.arm(call, this.timeoutMs);
      let result: T | PromiseLike<T>;
      try {
        result = fn(call);
      } catch (error) {
        call.fail(error);
        return;
      }
      if (isThenable(result)) {
        // Both handlers stay attached after the deadline, so a late rejection is handled.
        result.then(
          (value) => call.fulfil(value),
          (error: unknown) => call.fail(error),
        );
      } else {
        call.fulfil(result);
      }
    });
  }
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as PromiseLike<T> | null)?.then === 'function';
}

/** Gives the work `ms` milliseconds; then aborts its signal and rejects with TimeoutError. */
export function timeout(ms: number, options?: TimeoutOptions): TimeoutPolicy {
  return new TimeoutPolicy(ms, options);
}
