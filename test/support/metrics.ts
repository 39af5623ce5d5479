import { metricsRegistry } from '../../src/observe/registry.js';

/** The value of the series of `name` whose labels include all of `labels` (0 when none). */
export async function metricValue(name: string, labels: Record<string, string>): Promise<number> {
  const metric = await metricsRegistry().getSingleMetric(name)?.get();
  const series = metric?.values.find((v) =>
    Object.entries(labels).every(([label, value]) => v.labels[label] === value),
  );
  return series?.value ?? 0;
}
