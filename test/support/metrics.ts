import { metricsRegistry } from '../../src/observe/registry.js';

async function seriesOf(name: string, labels: Record<string, string>) {
  const metric = await metricsRegistry().getSingleMetric(name)?.get();
  return (metric?.values ?? []).filter((v) =>
    Object.entries(labels).every(([label, value]) => v.labels[label] === value),
  );
}

/** The value of the series of `name` whose labels include all of `labels` (0 when none). */
export async function metricValue(name: string, labels: Record<string, string>): Promise<number> {
  return (await seriesOf(name, labels))[0]?.value ?? 0;
}

/** The sum of every series of `name` whose labels include all of `labels`. */
export async function metricSum(name: string, labels: Record<string, string>): Promise<number> {
  let sum = 0;
  for (const series of await seriesOf(name, labels)) sum += series.value;
  return sum;
}
