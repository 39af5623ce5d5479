import type { Clock } from './clock.js';

/**
 * A coarse deadline scheduler: a hashed timer wheel driven by one unref'd setTimeout
 * that ticks only while deadlines are pending. Arming and disarming are O(1) and need no
 * allocation, so a timeout that almost never fires (the usual case) costs far less than
 * a setTimeout/clearTimeout pair.
 *
 * Reading the clock costs more than the rest of arming, so while the wheel is ticking a
 * new deadline is only staged, with its delay; the next clock read (the next tick, or
 * every 64th arm) places the staged ones, counting their delay from that read. That time
 * is never earlier than when they were armed, so deadlines fire late by at most about a
 * tick (or by however long the event loop was blocked), and never early.
 */
const monotonicClock: Clock = { now: () => performance.now() };

export interface DeadlineSchedulerOptions {
  /** Width of one tick in ms; default 4. */
  resolutionMs?: number;
  /** Slots in the wheel (rounded up to a power of two); default 256. */
  slots?: number;
  /**
   * Monotonic time in ms; default `performance.now()`. Tests with fake timers pass
   * `systemClock`, whose `Date.now()` those replace.
   */
  clock?: Clock;
}

/**
 * What the wheel links in place. Implementing it on an object that exists anyway (as the
 * timeout policy does with its per-call state) saves the allocation `schedule` makes.
 */
export interface WheelEntry {
  /** @internal */ wheelTick: number;
  /** @internal */ wheelPrev: WheelEntry | undefined;
  /** @internal */ wheelNext: WheelEntry | undefined;
  /** @internal IDLE, STAGED, PLACED or DISARMED. */
  wheelState: number;
  onDeadline(): void;
}

const IDLE = 0;
const STAGED = 1;
const PLACED = 2;
const DISARMED = 3;
/** Arms between two clock reads at most, while the wheel is ticking. */
const STAGE_LIMIT = 64;

export class Deadline<A = unknown> implements WheelEntry {
  wheelTick = 0;
  wheelPrev: WheelEntry | undefined = undefined;
  wheelNext: WheelEntry | undefined = undefined;
  wheelState = 0;

  /** @internal */
  constructor(
    private readonly scheduler: DeadlineScheduler,
    readonly callback: (arg: A) => void,
    readonly arg: A,
  ) {}

  onDeadline(): void {
    this.callback(this.arg);
  }

  /** Stops the deadline from firing; harmless after it fired or was cancelled. */
  cancel(): void {
    this.scheduler.disarm(this);
  }
}

export class DeadlineScheduler {
  private readonly resolution: number;
  private readonly mask: number;
  private readonly wheel: (WheelEntry | undefined)[];
  private readonly clock: Clock;
  private pending = 0;
  private processedTick: number;
  private ticking = false;
  private staged: WheelEntry | undefined = undefined;
  private armsSinceRead = 0;
  private readonly due: WheelEntry[] = [];
  private readonly onTimer = (): void => this.advance();

  constructor(options: DeadlineSchedulerOptions = {}) {
    this.resolution = Math.max(1, options.resolutionMs ?? 4);
    let slots = 1;
    while (slots < (options.slots ?? 256)) slots <<= 1;
    this.mask = slots - 1;
    this.wheel = new Array<WheelEntry | undefined>(slots).fill(undefined);
    this.clock = options.clock ?? monotonicClock;
    this.processedTick = Math.floor(this.clock.now() / this.resolution);
  }

  /** Number of deadlines waiting to fire. */
  get size(): number {
    return this.pending;
  }

  schedule<A>(delayMs: number, callback: (arg: A) => void, arg: A): Deadline<A> {
    const entry = new Deadline(this, callback, arg);
    this.arm(entry, delayMs);
    return entry;
  }

  /** Links `entry` to fire `onDeadline()` after `delayMs`; it must not be armed already. */
  arm(entry: WheelEntry, delayMs: number): void {
    entry.wheelTick = delayMs;
    entry.wheelState = STAGED;
    entry.wheelPrev = undefined;
    const head = this.staged;
    entry.wheelNext = head;
    if (head !== undefined) head.wheelPrev = entry;
    this.staged = entry;
    this.pending++;
    if (!this.ticking) {
      this.place(this.clock.now());
      this.startTimer();
    } else if (++this.armsSinceRead >= STAGE_LIMIT) {
      this.place(this.clock.now());
    }
  }

  /** Stops `entry` from firing; harmless when it is not armed. */
  disarm(entry: WheelEntry): void {
    if (entry.wheelState === STAGED || entry.wheelState === PLACED) this.unlink(entry);
    entry.wheelState = DISARMED;
  }

  /** Moves every staged entry into the wheel, its delay counted from `now`. */
  private place(now: number): void {
    this.armsSinceRead = 0;
    let entry = this.staged;
    this.staged = undefined;
    while (entry !== undefined) {
      const next = entry.wheelNext;
      let tick = Math.ceil((now + entry.wheelTick) / this.resolution);
      if (tick <= this.processedTick) tick = this.processedTick + 1;
      entry.wheelTick = tick;
      entry.wheelState = PLACED;
      const slot = tick & this.mask;
      const head = this.wheel[slot];
      entry.wheelPrev = undefined;
      entry.wheelNext = head;
      if (head !== undefined) head.wheelPrev = entry;
      this.wheel[slot] = entry;
      entry = next;
    }
  }

  private unlink(entry: WheelEntry): void {
    const prev = entry.wheelPrev;
    const next = entry.wheelNext;
    if (prev !== undefined) prev.wheelNext = next;
    else if (entry.wheelState === STAGED) this.staged = next;
    else this.wheel[entry.wheelTick & this.mask] = next;
    if (next !== undefined) next.wheelPrev = prev;
    entry.wheelPrev = undefined;
    entry.wheelNext = undefined;
    entry.wheelState = IDLE;
    this.pending--;
  }

  private startTimer(): void {
    this.ticking = true;
    setTimeout(this.onTimer, this.resolution).unref?.();
  }

  private advance(): void {
    this.ticking = false;
    const now = this.clock.now();
    this.place(now);
    const nowTick = Math.floor(now / this.resolution);
    // After a long stall one pass over every slot covers every tick that elapsed.
    const steps = Math.min(nowTick - this.processedTick, this.mask + 1);
    const due = this.due;
    for (let step = 1; step <= steps; step++) {
      let entry = this.wheel[(this.processedTick + step) & this.mask];
      while (entry !== undefined) {
        if (entry.wheelTick <= nowTick) due.push(entry);
        entry = entry.wheelNext;
      }
    }
    if (nowTick > this.processedTick) this.processedTick = nowTick;
    // Unlink every due entry before running any callback: a callback may disarm or arm
    // others, which must not disturb this pass.
    for (const entry of due) this.unlink(entry);
    for (let i = 0; i < due.length; i++) {
      const entry = due[i]!;
      if (entry.wheelState === DISARMED) continue;
      try {
        entry.onDeadline();
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
    due.length = 0;
    if (this.pending > 0 && !this.ticking) this.startTimer();
  }
}

/** The process-wide scheduler that policies use unless given another. */
export const deadlines = new DeadlineScheduler();
