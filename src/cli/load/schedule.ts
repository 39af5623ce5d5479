import { setTimeout as sleep } from 'node:timers/promises';
import type { LoadStats } from './stats.js';

/** Past this many unanswered requests, further arrivals are counted as skipped, not sent. */
const maxInFlight = 10_000;

export interface Arrivals {
  ratePerSecond: number;
  durationMs: number;
  /** Sends one arrival that was due at `dueAt` (`performance.now()` time). */
  arrive: (dueAt: number) => Promise<void>;
  stats: LoadStats;
  signal?: AbortSignal;
}

/**
 * Open-loop load: arrival i is due at start + i / rate, however slowly earlier ones are
 * answered, and its latency counts from when it was due. A closed loop (send, wait, send)
 * would slow down with the target and hide exactly the queueing it should measure.
 * Resolves once every arrival has been sent and answered (or has failed), with the
 * `performance.now()` time at which the last one was sent.
 */
export async function sendArrivals(arrivals: Arrivals): Promise<{ lastSentAt: number }> {
  const intervalMs = 1000 / arrivals.ratePerSecond;
  const total = Math.floor((arrivals.durationMs * arrivals.ratePerSecond) / 1000);
  const inFlight = new Set<Promise<void>>();
  const start = performance.now();
  let next = 0;
  while (next < total && arrivals.signal?.aborted !== true) {
    const now = performance.now();
    for (; next < total && start + next * intervalMs <= now; next++) {
      if (inFlight.size >= maxInFlight) {
        arrivals.stats.skipped++;
        continue;
      }
      const request = arrivals.arrive(start + next * intervalMs);
      inFlight.add(request);
      void request.finally(() => inFlight.delete(request));
    }
    const untilNext = start + next * intervalMs - performance.now();
    if (untilNext > 0) await sleep(Math.min(untilNext, 100));
  }
  const lastSentAt = performance.now();
  await Promise.all(inFlight);
  return { lastSentAt };
}
