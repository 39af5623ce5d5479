import { channels, type RetryEvent, type RetryGiveUpEvent } from '../core/diagnostics.js';
import { InvalidArgumentError, RetryBudgetExhaustedError, retryAfterOf } from '../core/errors.js';
import { type Backoff, exponentialBackoff } from './backoff.js';
import { PolicyBase } from './base.js';
import type { RetryBudget } from './budget.js';
import type { ExecutionContext } from './context.js';
import { invoke } from './invoke.js';
import { runIn, type Work } from './policy.js';
import { sleep } from './sleep.js';

export interface RetryOptions {
  /** Attempts in all, the first included; default 3. */
  maxAttempts?: number;
  /** Default: exponential from 100 ms to 30 s with full jitter. */
  backoff?: Backoff;
  /** Which errors are worth another attempt; default every error. */
  retryable?: (error: unknown) => boolean;
  budget?: RetryBudget;
  name?: string;
}

type GiveUpReason = RetryGiveUpEvent['reason'];

export class RetryPolicy extends PolicyBase {
  readonly name: string;
  readonly maxAttempts: number;
  private readonly backoff: Backoff;
  private readonly retryable: ((error: unknown) => boolean) | undefined;
  private readonly budget: RetryBudget | undefined;

  constructor(options: RetryOptions = {}) {
    super();
    this.maxAttempts = options.maxAttempts ?? 3;
    if (!Number.isInteger(this.maxAttempts) || this.maxAttempts < 1) {
      throw new InvalidArgumentError(
        `maxAttempts must be an integer >= 1, got ${this.maxAttempts}`,
      );
    }
    this.name = options.name ?? 'default';
    this.backoff = options.backoff ?? exponentialBackoff();
    this.retryable = options.retryable;
    this.budget = options.budget;
  }

  [runIn]<T>(fn: Work<T>, parent: ExecutionContext): Promise<T> {
    this.budget?.deposit();
    const context = parent.attempt === 1 ? parent : parent.forAttempt(1);
    return invoke(fn, context).then(undefined, (error: unknown) =>
      this.afterFailure(fn, parent, error),
    );
  }

  private async afterFailure<T>(fn: Work<T>, parent: ExecutionContext, error: unknown): Promise<T> {
    let previousDelay = 0;
    for (let attempt = 1; ; attempt++) {
      const reason = this.refuse(error, attempt, parent);
      if (reason !== undefined) {
        this.giveUp(attempt, reason);
        if (reason === 'budget') throw new RetryBudgetExhaustedError(undefined, { cause: error });
        throw error;
      }
      const hint = retryAfterOf(error);
      const backoff = this.backoff(attempt, previousDelay);
      const delay = hint !== undefined && hint > backoff ? hint : backoff;
      previousDelay = delay;
      if (channels.retry.hasSubscribers) {
        const event: RetryEvent = { name: this.name, attempt, delayMs: delay, error };
        channels.retry.publish(event);
      }
      try {
        await sleep(delay, parent);
      } catch (abort) {
        this.giveUp(attempt, 'aborted');
        throw abort;
      }
      try {
        return await fn(parent.forAttempt(attempt + 1));
      } catch (next) {
        error = next;
      }
    }
  }

  private refuse(
    error: unknown,
    attempt: number,
    parent: ExecutionContext,
  ): GiveUpReason | undefined {
    if (parent.aborted) return 'aborted';
    if (this.retryable !== undefined && !this.retryable(error)) return 'not-retryable';
    if (attempt >= this.maxAttempts) return 'attempts';
    if (this.budget !== undefined && !this.budget.tryWithdraw()) return 'budget';
    return undefined;
  }

  private giveUp(attempts: number, reason: GiveUpReason): void {
    if (channels.retryGiveUp.hasSubscribers) {
      const event: RetryGiveUpEvent = { name: this.name, attempts, reason };
      channels.retryGiveUp.publish(event);
    }
  }
}

/** Runs the work again after failures, waiting `backoff` between attempts. */
export function retry(options?: RetryOptions): RetryPolicy {
  return new RetryPolicy(options);
}
