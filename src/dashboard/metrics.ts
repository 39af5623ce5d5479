import type { MetricSeries, TelemetryQuery } from '../observe/store/index.js';

export interface LabelledValue {
  labels: Record<string, string>;
  value: number;
}

/** A series whose first sample comes this long after the window starts appeared in it. */
const APPEARED_AFTER_MS = 30_000;

/** Series looked at for the latest value: scraped within this window. */
const FRESH_MS = 120_000;

function seriesOf(
  store: TelemetryQuery,
  name: string,
  from: number,
  to: number,
  newest = false,
): MetricSeries[] {
  return store.series({ name, from, to, limit: 1000, newest });
}

/** The latest value of each series of a gauge (or counter) scraped recently. */
export function latest(store: TelemetryQuery, name: string, now: number): LabelledValue[] {
  return seriesOf(store, name, now - FRESH_MS, now + 1000, true).flatMap((s) => {
    const last = s.points.at(-1);
    return last === undefined ? [] : [{ labels: s.labels, value: last[1] }];
  });
}

/**
 * How much each series of a counter grew over the window, counting through resets. A series
 * first seen well inside the window appeared then (a process exports a labelled counter
 * from its first increment), so it grew from zero to its first value.
 */
export function increase(
  store: TelemetryQuery,
  name: string,
  now: number,
  windowMs: number,
): LabelledValue[] {
  const from = now - windowMs;
  return seriesOf(store, name, from, now + 1000).map((s) => {
    const first = s.points[0];
    let grown = first !== undefined && first[0] > from + APPEARED_AFTER_MS ? first[1] : 0;
    for (let i = 1; i < s.points.length; i++) {
      const before = s.points[i - 1]![1];
      const after = s.points[i]![1];
      grown += after >= before ? after - before : after;
    }
    return { labels: s.labels, value: grown };
  });
}

/** The sum of the values whose labels pass `where`. */
export function sum(
  values: LabelledValue[],
  where: (labels: Record<string, string>) => boolean = () => true,
): number {
  return values.filter((v) => where(v.labels)).reduce((total, v) => total + v.value, 0);
}

/** Points for a uPlot chart: `[times in s, values...]`, one line per series. */
export function chartData(
  series: MetricSeries[],
): { labels: string[]; data: number[][] } | undefined {
  const times = [...new Set(series.flatMap((s) => s.points.map(([t]) => t)))].sort((a, b) => a - b);
  if (times.length < 2) return undefined;
  const data = [times.map((t) => t / 1000)];
  for (const s of series) {
    const byTime = new Map(s.points);
    data.push(times.map((t) => byTime.get(t) ?? Number.NaN));
  }
  return { labels: series.map((s) => Object.values(s.labels).join(' ') || s.name), data };
}
