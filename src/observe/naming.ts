import { InvalidArgumentError } from '../core/errors.js';

export type MetricType = 'counter' | 'gauge' | 'histogram';

const NAME = /^sluice_[a-z][a-z0-9_]*[a-z0-9]$/;
const LABEL = /^[a-z][a-z0-9_]*$/;
const RESERVED_LABELS = new Set(['le', 'quantile']);
/** Scaled or non-SI units; Prometheus wants seconds and bytes, so values are converted. */
const NON_BASE_UNITS = new Set([
  'ms',
  'millis',
  'milliseconds',
  'us',
  'microseconds',
  'ns',
  'nanoseconds',
  'minutes',
  'hours',
  'days',
  'kb',
  'kib',
  'kilobytes',
  'mb',
  'mib',
  'megabytes',
  'gb',
  'gigabytes',
  'bits',
  'percent',
]);
const HISTOGRAM_UNITS = ['_seconds', '_bytes', '_ratio'] as const;

/**
 * Throws unless `name` follows the Sluice scheme: `sluice_` prefix, snake case, base units
 * only, counters ending in `_total`, histograms ending in their unit (`_seconds`,
 * `_bytes` or `_ratio`), and no `_total` on anything but a counter.
 */
export function assertMetricName(name: string, type: MetricType): void {
  const fail = (why: string): never => {
    throw new InvalidArgumentError(`Metric name "${name}" ${why}`);
  };
  if (!NAME.test(name) || name.includes('__')) {
    fail('must be snake case and start with "sluice_"');
  }
  const unit = name.split('_').find((part) => NON_BASE_UNITS.has(part));
  if (unit !== undefined) fail(`uses the unit "${unit}"; use base units (seconds, bytes)`);
  const total = name.endsWith('_total');
  if (type === 'counter' && !total) fail('is a counter and must end in "_total"');
  if (type !== 'counter' && total) fail(`is a ${type}; only counters end in "_total"`);
  if (type === 'histogram' && !HISTOGRAM_UNITS.some((u) => name.endsWith(u))) {
    fail(`is a histogram and must end in its unit (${HISTOGRAM_UNITS.join(', ')})`);
  }
}

export function assertLabelNames(metric: string, labelNames: readonly string[]): void {
  const seen = new Set<string>();
  for (const label of labelNames) {
    if (!LABEL.test(label) || RESERVED_LABELS.has(label)) {
      throw new InvalidArgumentError(`Metric "${metric}" has an invalid label name "${label}"`);
    }
    if (seen.has(label)) {
      throw new InvalidArgumentError(`Metric "${metric}" declares the label "${label}" twice`);
    }
    seen.add(label);
  }
}
