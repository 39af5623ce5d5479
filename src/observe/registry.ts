import { collectDefaultMetrics, Registry } from 'prom-client';

// Kept on globalThis so that two copies of this package in one process still share one
// registry, and one `/metrics` shows everything.
const KEY = Symbol.for('sluice.metrics.registry');
const holder = globalThis as { [KEY]?: Registry };

/** The process-wide registry every Sluice component reports into by default. */
export function metricsRegistry(): Registry {
  holder[KEY] ??= new Registry();
  return holder[KEY];
}

export interface ProcessMetricsOptions {
  /** Prefix for the standard names (`process_cpu_seconds_total`, `nodejs_heap_size_*`…). */
  prefix?: string;
}

const collecting = new WeakSet<Registry>();

/**
 * Opts in to prom-client's standard process and Node.js runtime metrics (CPU, memory,
 * event-loop lag, GC, handles). Calling it again for the same registry does nothing.
 */
export function collectProcessMetrics(
  registry: Registry = metricsRegistry(),
  options: ProcessMetricsOptions = {},
): void {
  if (collecting.has(registry)) return;
  collecting.add(registry);
  const prefix = options.prefix ?? '';
  collectDefaultMetrics({ register: registry, prefix });
  // These are gauges named like counters, which `promtool check metrics` rejects; the
  // same numbers remain, broken down by type, in the series without `_total`.
  for (const name of MISNAMED_GAUGES) registry.removeSingleMetric(`${prefix}${name}`);
}

const MISNAMED_GAUGES = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];
