import { performance } from 'node:perf_hooks';

/** How often the loop is sampled: a block shorter than this may go unseen. */
const SAMPLE_MS = 10;
/** A reading covers the current window and the one before it: the last 100-200 ms. */
const WINDOW_MS = 100;

let started = false;
let previousMs = 0;
let currentMs = 0;

/**
 * How late this process's event loop has recently been (ms): the worst lateness of a 10 ms
 * timer over the last 100-200 ms, so a block of D ms reads about D for 100-200 ms after it
 * ends and an idle loop reads about 0. One sampler serves every caller; it starts on the
 * first call and its timer never keeps the process alive. Its first window is not counted:
 * it would mostly measure start-up (module loading), not load.
 *
 * The worst sample, not a percentile: a window holds ten samples at most, so its p99 is its
 * maximum anyway, and both callers want one stall counted. The gradient limit adds this to
 * its tolerance because every call that spanned the stall was slowed by it, not by the
 * upstream; the gateway's shedder refuses requests for at most 200 ms after a stall longer
 * than its threshold (500 ms by default, far above a GC pause), while the requests that
 * queued behind the stall are served late.
 *
 * Not monitorEventLoopDelay: its reset() forgets when it last sampled, so the interval in
 * progress at each reset is never recorded, and a block that began shortly before or after
 * a window's reset vanished from every reading.
 */
export function recentEventLoopDelayMs(): number {
  if (!started) {
    started = true;
    let counting = false;
    let expectedAt = performance.now() + SAMPLE_MS;
    let windowEndsAt = expectedAt + WINDOW_MS;
    setInterval(() => {
      const now = performance.now();
      if (counting) currentMs = Math.max(currentMs, now - expectedAt);
      expectedAt = now + SAMPLE_MS;
      if (now >= windowEndsAt) {
        previousMs = currentMs;
        currentMs = 0;
        counting = true;
        windowEndsAt = now + WINDOW_MS;
      }
    }, SAMPLE_MS).unref();
  }
  return Math.max(previousMs, currentMs);
}
