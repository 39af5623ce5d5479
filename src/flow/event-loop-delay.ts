import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';

const TICK_MS = 100;

let histogram: IntervalHistogram | undefined;
let previousMs = 0;
let lastMs = 0;

/**
 * How late this process's event loop has recently been (ms): the p99 of the loop's delay
 * over the last 100-200 ms. One monitor serves every caller; it starts on the first call
 * and its timer never keeps the process alive. Its first tick is not counted: it would
 * mostly measure start-up (module loading), not load.
 */
export function recentEventLoopDelayMs(): number {
  if (histogram === undefined) {
    const h = monitorEventLoopDelay({ resolution: 10 });
    h.enable();
    histogram = h;
    let first = true;
    setInterval(() => {
      previousMs = lastMs;
      lastMs = first ? 0 : h.percentile(99) / 1e6;
      first = false;
      h.reset();
    }, TICK_MS).unref();
  }
  return Math.max(previousMs, lastMs);
}
