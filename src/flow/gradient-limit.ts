import { InvalidArgumentError } from '../core/errors.js';
import {
  type ConcurrencyLimit,
  type ConcurrencyLimitOptions,
  concurrencyLimit,
  type LimitAlgorithm,
  type LimitSample,
} from './concurrency-limit.js';
import { fraction, limitBounds } from './limit-bounds.js';
import { positive } from './limiter-options.js';

export interface GradientLimitOptions extends ConcurrencyLimitOptions {
  /** The limit until the first samples say otherwise. Default 20. */
  initial?: number;
  /**
   * The floor, and the concurrency while the minimum RTT is measured. Default 16 (or
   * `initial`, when lower).
   */
  min?: number;
  /** Default 1,000. */
  max?: number;
  /** Latency up to minRTT × (1 + buffer) + toleranceMs is not queueing. Default 0.25. */
  buffer?: number;
  /**
   * Milliseconds of latency above minRTT × (1 + buffer) that are not queueing either: the
   * caller's own scheduling noise, which a ratio to a 1 ms minimum RTT would magnify into
   * a collapse. Default 5.
   */
  toleranceMs?: number;
  /**
   * The delay the caller itself added to the latest calls (ms), e.g. its event loop's lag;
   * read at the end of each window and added to the tolerance. Default none.
   */
  ownDelayMs?: () => number;
  /** Weight of each window's estimate when it grows the limit (0..1]. Default 0.2. */
  smoothing?: number;
  /** Calls are aggregated (their median RTT) over windows this long. Default 100 ms. */
  windowMs?: number;
  /** How often the minimum RTT is measured again. Default 60 s. */
  probeIntervalMs?: number;
  /** Each probe delayed by up to this fraction of the interval, at random. Default 0.15. */
  jitter?: number;
  /** Calls whose median RTT is the minimum RTT. Default 50. */
  probeSamples?: number;
  /** Headroom added to the estimate so the limit can grow. Default `sqrt(limit)`. */
  queueSize?: (limit: number) => number;
  /** A number in [0, 1); injectable for tests. Default Math.random. */
  random?: () => number;
}

const MAX_WINDOW_SAMPLES = 1_000;
/** A window's median stands for the upstream once it holds this many calls... */
const MIN_WINDOW_SAMPLES = 10;
/** ...or once it is this many `windowMs` old, for an upstream that sees few calls. */
const LONG_WINDOWS = 10;
/** Windows in a row at the floor after which the minimum RTT is measured again. */
const FLOOR_WINDOWS = 5;

/**
 * Latencies in a preallocated typed array: a call's sample costs a store, and the median
 * sorts natively (a typed array sorts numerically, without a comparator call per step).
 */
class Samples {
  readonly #values: Float64Array;
  length = 0;

  constructor(capacity: number) {
    this.#values = new Float64Array(capacity);
  }

  push(value: number): void {
    if (this.length < this.#values.length) this.#values[this.length++] = value;
  }

  median(): number {
    const sorted = this.#values.subarray(0, this.length).sort();
    return sorted[Math.floor((this.length - 1) / 2)] as number;
  }

  clear(): void {
    this.length = 0;
  }
}

/**
 * The gradient controller of Envoy's adaptive concurrency filter, its growth smoothed as
 * Netflix's Gradient2 limit's is. Each window of at least `windowMs` and ten calls (or ten times
 * `windowMs` for a quiet upstream), the median RTT of the calls that ended in it is
 * compared with the minimum RTT: gradient = (minRTT × (1 + buffer) + tolerance) / sampleRTT,
 * in [0.5, 2], where the tolerance is `toleranceMs` plus the delay the caller reports as its
 * own (`ownDelayMs`), and new = limit × gradient + queueSize(limit). A drop in the window counts as
 * the steepest gradient. A queue is cut at once (as Envoy does); growth is smoothed (as
 * Netflix does), and never comes from a window in which fewer than half the slots were
 * used: an idle upstream proves nothing about its capacity.
 *
 * The minimum RTT is what a call costs without queueing. The first `probeSamples` calls
 * measure it; then, every `probeIntervalMs` (plus jitter, so that gateways do not probe in
 * step) and whenever the limit has sat at `min` for five windows, the limit is pinned to
 * `min` until `probeSamples` calls admitted during the probe have ended, and their median
 * is the new minimum RTT. A window whose median is lower than the minimum lowers it. Without
 * the pinned probe, a limit that lets a queue build would measure that queue as the
 * upstream's own latency and drift upwards for ever.
 */
export function gradientAlgorithm(options: GradientLimitOptions = {}): LimitAlgorithm {
  const { initial, min, max } = limitBounds(options, { initial: 20, min: 16, max: 1_000 });
  const buffer = options.buffer ?? 0.25;
  if (!(buffer >= 0)) throw new InvalidArgumentError(`buffer must be >= 0, got ${buffer}`);
  const toleranceMs = options.toleranceMs ?? 5;
  if (!(toleranceMs >= 0))
    throw new InvalidArgumentError(`toleranceMs must be >= 0, got ${toleranceMs}`);
  const ownDelayMs = options.ownDelayMs ?? (() => 0);
  const smoothing = options.smoothing === 1 ? 1 : fraction('smoothing', options.smoothing ?? 0.2);
  const windowMs = positive('windowMs', options.windowMs ?? 100);
  const probeIntervalMs = positive('probeIntervalMs', options.probeIntervalMs ?? 60_000);
  const jitter = options.jitter ?? 0.15;
  if (!(jitter >= 0 && jitter <= 1))
    throw new InvalidArgumentError(`jitter must be between 0 and 1, got ${jitter}`);
  const probeSamples = Math.floor(positive('probeSamples', options.probeSamples ?? 50));
  const queueSize = options.queueSize ?? Math.sqrt;
  const random = options.random ?? Math.random;

  let limit = initial;
  let minRtt = Number.NaN;
  // The first probe runs at the initial limit: pinning a fresh limit to `min` would refuse
  // the first burst a new gateway sees.
  let probing = true;
  let probeStartedAt = Number.NEGATIVE_INFINITY;
  let limitBeforeProbe = initial;
  let nextProbeAt = Number.POSITIVE_INFINITY;
  const probe = new Samples(probeSamples);
  let windowStartedAt = Number.NaN;
  const window = new Samples(MAX_WINDOW_SAMPLES);
  let windowDrops = 0;
  let windowInflight = 0;
  let floorWindows = 0;

  const startProbe = (now: number): void => {
    probing = true;
    probeStartedAt = now;
    limitBeforeProbe = limit;
    probe.clear();
    limit = min;
  };

  const endProbe = (now: number): void => {
    minRtt = probe.median();
    probe.clear();
    probing = false;
    limit = limitBeforeProbe;
    floorWindows = 0;
    nextProbeAt = now + probeIntervalMs * (1 + jitter * random());
    startWindow(now);
  };

  const startWindow = (now: number): void => {
    windowStartedAt = now;
    window.clear();
    windowDrops = 0;
    windowInflight = 0;
  };

  const endWindow = (): void => {
    const sampleRtt = window.median();
    // A median below the minimum proves the minimum was measured high (a cold start's
    // connection set-up and JIT): lower it at once rather than wait for the next probe.
    if (window.length >= MIN_WINDOW_SAMPLES && sampleRtt < minRtt) minRtt = sampleRtt;
    // Latency the caller adds itself (its event loop late, its CPU shared) is not the
    // upstream's queue: it is tolerated, never divided by a minimum RTT it dwarfs.
    const expected = minRtt * (1 + buffer) + toleranceMs + Math.max(0, ownDelayMs());
    const gradient =
      windowDrops > 0 ? 0.5 : Math.max(0.5, Math.min(2, expected / Math.max(sampleRtt, 1e-3)));
    const estimate = limit * gradient + queueSize(limit);
    if (estimate < limit) {
      limit = Math.max(min, estimate);
    } else if (windowInflight * 2 >= limit) {
      limit = Math.min(max, limit * (1 - smoothing) + estimate * smoothing);
    }
    floorWindows = limit <= min ? floorWindows + 1 : 0;
  };

  return {
    initial,
    update({ rttMs, now, inflight, dropped }: LimitSample): number {
      if (probing) {
        // A call admitted before the probe began may have queued behind the old limit.
        if (now - rttMs >= probeStartedAt) probe.push(rttMs);
        if (probe.length >= probeSamples) endProbe(now);
        return limit;
      }
      const age = now - windowStartedAt;
      const full = window.length >= MIN_WINDOW_SAMPLES || age >= windowMs * LONG_WINDOWS;
      if (age >= windowMs && full && window.length > 0) {
        endWindow();
        startWindow(now);
        if (floorWindows >= FLOOR_WINDOWS || now >= nextProbeAt) {
          startProbe(now);
          return limit;
        }
      }
      window.push(rttMs);
      if (dropped) windowDrops++;
      if (inflight > windowInflight) windowInflight = inflight;
      return limit;
    },
  };
}

/** An adaptive concurrency limit (see `gradientAlgorithm`). */
export function gradientLimit(options: GradientLimitOptions = {}): ConcurrencyLimit {
  return concurrencyLimit(gradientAlgorithm(options), options);
}
