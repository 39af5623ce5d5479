import { channels, type HedgeEvent } from '../core/diagnostics.js';
import { AbortedError, InvalidArgumentError } from '../core/errors.js';
import { type Deadline, type DeadlineScheduler, deadlines } from '../core/timers.js';
import { PolicyBase } from './base.js';
import type { ExecutionContext } from './context.js';
import { runIn, type Work } from './policy.js';

export interface HedgeOptions {
  /** How long an attempt runs alone before the next one starts. */
  delayMs: number;
  /** Extra attempts beyond the first; default 1. */
  maxHedges?: number;
  name?: string;
  scheduler?: DeadlineScheduler;
}

const lost = (): AbortedError => new AbortedError('Another hedged attempt won');

/** One hedged execution: attempts race, the first success wins, the others are aborted. */
class Race<T> {
  private readonly attempts: ExecutionContext[] = [];
  private running = 0;
  private settled = false;
  private timer: Deadline<Race<T>> | undefined = undefined;
  private lastError: unknown = undefined;

  constructor(
    private readonly policy: HedgePolicy,
    private readonly fn: Work<T>,
    private readonly parent: ExecutionContext,
    private readonly resolve: (value: T) => void,
    private readonly reject: (error: unknown) => void,
  ) {}

  /** Starts the next attempt, and arms the timer for the one after it. */
  launch(): void {
    this.timer?.cancel();
    this.timer = undefined;
    const context = this.parent.abortableChild();
    const index = this.attempts.push(context);
    this.running++;
    if (index <= this.policy.maxHedges) {
      this.timer = this.policy.scheduler.schedule<Race<T>>(this.policy.delayMs, hedgeDue, this);
    }
    let result: T | PromiseLike<T>;
    try {
      result = this.fn(context);
    } catch (error) {
      this.failed(error);
      return;
    }
    Promise.resolve(result).then(
      (value) => this.succeeded(index, value),
      (error: unknown) => this.failed(error),
    );
  }

  onDelay(): void {
    this.timer = undefined;
    if (!this.settled && !this.parent.aborted) this.launch();
  }

  private succeeded(index: number, value: T): void {
    if (this.settled) return;
    this.finish();
    if (channels.hedge.hasSubscribers) {
      const event: HedgeEvent = {
        name: this.policy.name,
        winner: index,
        started: this.attempts.length,
      };
      channels.hedge.publish(event);
    }
    this.attempts.forEach((context, i) => {
      if (i !== index - 1) context.abort(lost());
    });
    this.resolve(value);
  }

  private failed(error: unknown): void {
    this.running--;
    if (this.settled) return;
    this.lastError = error;
    if (this.running > 0) return;
    // Nothing is left in flight: hedge at once rather than wait out the delay.
    if (this.attempts.length <= this.policy.maxHedges && !this.parent.aborted) {
      this.launch();
      return;
    }
    this.finish();
    this.reject(this.lastError);
  }

  private finish(): void {
    this.settled = true;
    this.timer?.cancel();
    for (const context of this.attempts) context.dispose();
  }
}

function hedgeDue<T>(race: Race<T>): void {
  race.onDelay();
}

export class HedgePolicy extends PolicyBase {
  readonly name: string;
  readonly delayMs: number;
  readonly maxHedges: number;
  readonly scheduler: DeadlineScheduler;

  constructor(options: HedgeOptions) {
    super();
    this.delayMs = options.delayMs;
    this.maxHedges = options.maxHedges ?? 1;
    if (!(this.delayMs >= 0)) throw new InvalidArgumentError('delayMs must be >= 0');
    if (!Number.isInteger(this.maxHedges) || this.maxHedges < 0) {
      throw new InvalidArgumentError('maxHedges must be an integer >= 0');
    }
    this.name = options.name ?? 'default';
    this.scheduler = options.scheduler ?? deadlines;
  }

  [runIn]<T>(fn: Work<T>, parent: ExecutionContext): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      new Race(this, fn, parent, resolve, reject).launch();
    });
  }
}

/**
 * Starts another attempt when the current one has run `delayMs` without an answer; the
 * first success wins and the others' signals abort. Use only for idempotent work.
 */
export function hedge(options: HedgeOptions): HedgePolicy {
  return new HedgePolicy(options);
}
