/** Outcome flags of one call, as the sliding windows count them. */
export const FAILURE = 1;
export const SLOW = 2;

/**
 * A breaker's sliding window: running totals of calls, failures and slow calls, kept in
 * fixed memory however many calls pass through.
 */
export interface OutcomeWindow {
  readonly calls: number;
  readonly failures: number;
  readonly slow: number;
  record(flags: number, now: number): void;
  /** Brings the totals up to `now` (time windows drop expired buckets). */
  advance(now: number): void;
  reset(): void;
}

/** The last `size` calls, as one byte of flags each in a ring. */
export class CountWindow implements OutcomeWindow {
  calls = 0;
  failures = 0;
  slow = 0;
  private readonly ring: Uint8Array;
  private index = 0;

  constructor(size: number) {
    this.ring = new Uint8Array(size);
  }

  record(flags: number): void {
    const ring = this.ring;
    if (this.calls === ring.length) {
      const old = ring[this.index]!;
      this.failures -= old & FAILURE;
      this.slow -= (old & SLOW) >> 1;
    } else {
      this.calls++;
    }
    ring[this.index] = flags;
    this.failures += flags & FAILURE;
    this.slow += (flags & SLOW) >> 1;
    this.index = this.index + 1 === ring.length ? 0 : this.index + 1;
  }

  advance(): void {}

  reset(): void {
    this.ring.fill(0);
    this.calls = 0;
    this.failures = 0;
    this.slow = 0;
    this.index = 0;
  }
}

/** Calls of the last `durationMs`, counted in `buckets` buckets that expire in turn. */
export class TimeWindow implements OutcomeWindow {
  calls = 0;
  failures = 0;
  slow = 0;
  private readonly bucketMs: number;
  private readonly bucketCalls: Float64Array;
  private readonly bucketFailures: Float64Array;
  private readonly bucketSlow: Float64Array;
  private epoch = Number.NaN;

  constructor(durationMs: number, buckets: number) {
    this.bucketMs = durationMs / buckets;
    this.bucketCalls = new Float64Array(buckets);
    this.bucketFailures = new Float64Array(buckets);
    this.bucketSlow = new Float64Array(buckets);
  }

  record(flags: number, now: number): void {
    const slot = this.roll(now);
    const failure = flags & FAILURE;
    const slow = (flags & SLOW) >> 1;
    this.bucketCalls[slot]!++;
    this.bucketFailures[slot]! += failure;
    this.bucketSlow[slot]! += slow;
    this.calls++;
    this.failures += failure;
    this.slow += slow;
  }

  advance(now: number): void {
    this.roll(now);
  }

  reset(): void {
    this.bucketCalls.fill(0);
    this.bucketFailures.fill(0);
    this.bucketSlow.fill(0);
    this.calls = 0;
    this.failures = 0;
    this.slow = 0;
    this.epoch = Number.NaN;
  }

  private roll(now: number): number {
    const size = this.bucketCalls.length;
    const epoch = Math.floor(now / this.bucketMs);
    if (epoch !== this.epoch) {
      const expired = Number.isNaN(this.epoch) ? size : Math.min(epoch - this.epoch, size);
      for (let i = 1; i <= expired; i++) {
        const slot = (epoch - expired + i) % size;
        this.calls -= this.bucketCalls[slot]!;
        this.failures -= this.bucketFailures[slot]!;
        this.slow -= this.bucketSlow[slot]!;
        this.bucketCalls[slot] = 0;
        this.bucketFailures[slot] = 0;
        this.bucketSlow[slot] = 0;
      }
      this.epoch = epoch;
    }
    return epoch % size;
  }
}
