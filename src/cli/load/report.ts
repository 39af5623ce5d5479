import type { LoadOptions } from './options.js';
import type { LatencySummary, LoadStats, Operation, OperationSummary, Outcome } from './stats.js';
import type { ShopperTraffic } from './traffic.js';

/**
 * Where the wall time of a run went: a run asked for 20 s can take much longer when logins
 * wait out the gateway's rate limit, the last requests wait for their timeout, or placed
 * orders are waited for (`--settle`).
 */
export interface LoadTiming {
  totalMs: number;
  /** Reading the catalogue and logging the users in, 429 waits included. */
  startingMs: number;
  /** From the first arrival to the last one sent: `--duration`, unless interrupted. */
  sendingMs: number;
  /** Waiting for the requests still unanswered when the last was sent (up to `--timeout`). */
  lastAnswersMs: number;
  /** Polling placed orders until each is final (up to `--settle`). */
  settlingMs: number;
}

/** What `sluice load --json` prints. */
export interface LoadSummary {
  target: string;
  ratePerSecond: number;
  durationMs: number;
  /** Sending and waiting for the answers: what `requests.perSecond` is over. */
  elapsedMs: number;
  timing: LoadTiming;
  users: string[];
  duplicateRatio: number;
  requests: {
    total: number;
    perSecond: number;
    byStatus: Record<Outcome, number>;
    rateLimited: number;
    skipped: number;
    byOperation: Partial<Record<Operation, OperationSummary>>;
  };
  /** From when each request was due, not when it happened to be sent. */
  latencyMs: LatencySummary;
  errors: Record<string, number>;
  orders: {
    placed: number;
    duplicates: number;
    duplicatesSameOrder: number;
    fulfilled: number;
    paymentFailed: number;
    pending: number;
  };
}

export function summarize(
  options: LoadOptions,
  stats: LoadStats,
  traffic: ShopperTraffic,
  elapsedMs: number,
  timing: LoadTiming,
): LoadSummary {
  const statuses = [...traffic.orders.values()].map((o) => o.status);
  const count = (status: string) => statuses.filter((s) => s === status).length;
  return {
    target: options.url.href,
    ratePerSecond: options.ratePerSecond,
    durationMs: options.durationMs,
    elapsedMs: Math.round(elapsedMs),
    timing: {
      totalMs: Math.round(timing.totalMs),
      startingMs: Math.round(timing.startingMs),
      sendingMs: Math.round(timing.sendingMs),
      lastAnswersMs: Math.round(timing.lastAnswersMs),
      settlingMs: Math.round(timing.settlingMs),
    },
    users: options.users,
    duplicateRatio: options.duplicateRatio,
    requests: {
      total: stats.total,
      perSecond: round((stats.total * 1000) / Math.max(1, elapsedMs)),
      byStatus: { ...stats.byOutcome },
      rateLimited: stats.rateLimited,
      skipped: stats.skipped,
      byOperation: stats.operations(),
    },
    latencyMs: stats.latency(),
    errors: Object.fromEntries(stats.errors),
    orders: {
      placed: statuses.length,
      duplicates: traffic.duplicates,
      duplicatesSameOrder: traffic.duplicatesSameOrder,
      fulfilled: count('fulfilled'),
      paymentFailed: count('payment_failed'),
      // Anything not final counts as pending.
      pending: statuses.length - count('fulfilled') - count('payment_failed'),
    },
  };
}

/** One line on how the run is going, e.g. for a terminal's status line. */
export function progressLine(elapsedMs: number, stats: LoadStats, orders: number): string {
  const s = stats.byOutcome;
  const p99 = formatMs(stats.latency().p99);
  return (
    `${(elapsedMs / 1000).toFixed(1).padStart(5)}s  ${stats.total} requests  ` +
    `2xx ${s['2xx']}  4xx ${s['4xx']} (429 ${stats.rateLimited})  5xx ${s['5xx']}  errors ${s.error}  ` +
    `p99 ${p99}  orders ${orders}`
  );
}

export function formatSummary(summary: LoadSummary): string {
  const { requests: r, latencyMs: l, orders: o } = summary;
  const lines = [
    `sluice load: ${summary.target} at ${summary.ratePerSecond}/s for ${summary.durationMs / 1000} s, users ${summary.users.join(', ')}`,
    '',
    `requests   ${r.total} in ${(summary.elapsedMs / 1000).toFixed(1)} s (${r.perSecond}/s)` +
      (r.skipped > 0 ? `, ${r.skipped} not sent (too many in flight)` : ''),
    `status     2xx ${r.byStatus['2xx']}  3xx ${r.byStatus['3xx']}  4xx ${r.byStatus['4xx']} (429 ${r.rateLimited})  5xx ${r.byStatus['5xx']}  errors ${r.byStatus.error}`,
    `latency    p50 ${formatMs(l.p50)}  p90 ${formatMs(l.p90)}  p99 ${formatMs(l.p99)}  p99.9 ${formatMs(l.p999)}  max ${formatMs(l.max)}  (from when each was due)`,
  ];
  for (const [operation, s] of Object.entries(r.byOperation)) {
    lines.push(
      `  ${operation.padEnd(8)} ${String(s.requests).padStart(7)}  p50 ${formatMs(s.latencyMs.p50)}  p99 ${formatMs(s.latencyMs.p99)}`,
    );
  }
  for (const [message, count] of Object.entries(summary.errors)) {
    lines.push(`error      ${message}: ${count}`);
  }
  const t = summary.timing;
  const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
  lines.push(
    `time       ${seconds(t.totalMs)} in all: ${seconds(t.startingMs)} logging in, ${seconds(t.sendingMs)} sending, ` +
      `${seconds(t.lastAnswersMs)} for the last answers, ${seconds(t.settlingMs)} waiting for orders to settle`,
    `orders     placed ${o.placed}, fulfilled ${o.fulfilled}, payment_failed ${o.paymentFailed}, pending ${o.pending}`,
    `retries    ${o.duplicates} resent an Idempotency-Key, ${o.duplicatesSameOrder} got the same order back`,
  );
  return lines.join('\n');
}

/** Three significant digits are all a latency histogram holds. */
function formatMs(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  return `${ms >= 100 ? Math.round(ms) : ms.toPrecision(3)} ms`;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
