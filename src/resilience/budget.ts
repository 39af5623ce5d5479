import { type Clock, systemClock } from '../core/clock.js';
import { InvalidArgumentError } from '../core/errors.js';

export interface RetryBudgetOptions {
  /** Retries allowed per call over the window; 0.2 lets retries add at most 20% load. */
  ratio?: number;
  /** Retries always allowed per second, so a quiet service can still retry. */
  minPerSecond?: number;
  windowMs?: number;
  /** Buckets the window slides by; default 10. */
  buckets?: number;
  clock?: Clock;
}

/**
 * Retries allowed as a ratio of calls over a sliding window plus a floor, as Envoy and
 * Linkerd do: during an outage retries cannot multiply load. Calls and retries are
 * counted in a ring of buckets, so memory is fixed and each operation is O(1) amortised.
 * One budget may be shared by several retry policies.
 */
export class RetryBudget {
  private readonly ratio: number;
  private readonly floor: number;
  private readonly bucketMs: number;
  private readonly calls: Float64Array;
  private readonly retries: Float64Array;
  private readonly clock: Clock;
  private epoch: number;
  private totalCalls = 0;
  private totalRetries = 0;

  constructor(options: RetryBudgetOptions = {}) {
    this.ratio = options.ratio ?? 0.2;
    const minPerSecond = options.minPerSecond ?? 10;
    const windowMs = options.windowMs ?? 10_000;
    const buckets = options.buckets ?? 10;
    if (!(this.ratio >= 0) || !(minPerSecond >= 0) || !(windowMs > 0) || !(buckets >= 1)) {
      throw new InvalidArgumentError(
        'retryBudget needs ratio >= 0, minPerSecond >= 0, windowMs > 0',
      );
    }
    this.floor = (minPerSecond * windowMs) / 1000;
    this.bucketMs = windowMs / buckets;
    this.calls = new Float64Array(buckets);
    this.retries = new Float64Array(buckets);
    this.clock = options.clock ?? systemClock;
    this.epoch = Math.floor(this.clock.now() / this.bucketMs);
  }

  /** Records one call (not a retry); each call earns `ratio` retries. */
  deposit(): void {
    const slot = this.roll();
    this.calls[slot]!++;
    this.totalCalls++;
  }

  /** Takes one retry from the budget; false when the budget is spent. */
  tryWithdraw(): boolean {
    const slot = this.roll();
    if (this.totalRetries + 1 > this.totalCalls * this.ratio + this.floor) return false;
    this.retries[slot]!++;
    this.totalRetries++;
    return true;
  }

  /** Whole retries currently available. */
  get available(): number {
    this.roll();
    return Math.max(0, Math.floor(this.totalCalls * this.ratio + this.floor - this.totalRetries));
  }

  private roll(): number {
    const size = this.calls.length;
    const epoch = Math.floor(this.clock.now() / this.bucketMs);
    if (epoch !== this.epoch) {
      const expired = Math.min(epoch - this.epoch, size);
      for (let i = 1; i <= expired; i++) {
        const slot = (this.epoch + i) % size;
        this.totalCalls -= this.calls[slot]!;
        this.totalRetries -= this.retries[slot]!;
        this.calls[slot] = 0;
        this.retries[slot] = 0;
      }
      this.epoch = epoch;
    }
    return epoch % size;
  }
}

export function retryBudget(options?: RetryBudgetOptions): RetryBudget {
  return new RetryBudget(options);
}
