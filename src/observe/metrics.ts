import { Counter, Gauge, Histogram, type Metric, type Registry } from 'prom-client';
import { InvalidArgumentError } from '../core/errors.js';
import { boundInc, boundObserve } from './bound-series.js';
import { LabelGuard, type LabelValues } from './label-guard.js';
import { assertLabelNames, assertMetricName, type MetricType } from './naming.js';
import { metricsRegistry } from './registry.js';

export interface MetricOptions<L extends string> {
  name: string;
  help: string;
  /** Every label the metric will ever carry, declared up front. */
  labelNames?: readonly L[];
  /** Closed value sets for some labels; any other value is recorded as `other`. */
  labelValues?: Partial<Record<L, readonly string[]>>;
  /** Distinct label combinations kept before new ones fold into `other` (default 100). */
  maxSeries?: number;
  registry?: Registry | undefined;
}

export interface GaugeOptions<L extends string> extends MetricOptions<L> {
  /**
   * Called at each scrape before the gauge is read: the place to set values derived from
   * something else (a driver's stats), so they are as fresh as the scrape.
   */
  collect?: () => Promise<void> | void;
}

export interface HistogramOptions<L extends string> extends MetricOptions<L> {
  buckets?: readonly number[];
}

interface SeriesControl<L extends string> {
  readonly name: string;
  /** Drops one series and frees its slot in the series budget. */
  remove(labels: LabelValues<L>): void;
  reset(): void;
}

export interface CounterMetric<L extends string = never> extends SeriesControl<L> {
  inc(labels?: LabelValues<L>, value?: number): void;
  /** One series, its labels checked once: for labels a hot path uses again and again. */
  bind(labels: LabelValues<L>): BoundCounter;
}

export interface BoundCounter {
  inc(value?: number): void;
}

export interface GaugeMetric<L extends string = never> extends SeriesControl<L> {
  set(labels: LabelValues<L>, value: number): void;
  inc(labels?: LabelValues<L>, value?: number): void;
  dec(labels?: LabelValues<L>, value?: number): void;
}

export interface HistogramMetric<L extends string = never> extends SeriesControl<L> {
  observe(labels: LabelValues<L>, value: number): void;
  /** Starts a timer; calling the result observes the elapsed seconds and returns them. */
  startTimer(labels?: LabelValues<L>): () => number;
  /** One series, its labels checked once: for labels a hot path uses again and again. */
  bind(labels: LabelValues<L>): BoundHistogram;
}

export interface BoundHistogram {
  observe(value: number): void;
}

export const DEFAULT_MAX_SERIES = 100;
const FOLDED_METRIC = 'sluice_metric_series_folded_total';

interface Entry {
  type: MetricType;
  signature: string;
  handle: unknown;
  metric: unknown;
}
const defined = new WeakMap<Registry, Map<string, Entry>>();

export function defineCounter<L extends string = never>(
  options: MetricOptions<L>,
): CounterMetric<L> {
  return define(options, 'counter', (config, guard) => {
    const counter = new Counter<L>(config);
    return {
      name: options.name,
      inc: (labels, value) => counter.inc(guard.resolve(labels ?? empty()), value ?? 1),
      bind: (labels) => ({ inc: boundInc(counter, guard.bind(labels)) }),
      ...seriesControl(counter, guard),
    };
  });
}

export function defineGauge<L extends string = never>(options: GaugeOptions<L>): GaugeMetric<L> {
  return define(options, 'gauge', (config, guard) => {
    const collect = options.collect;
    const gauge = new Gauge<L>(collect === undefined ? config : { ...config, collect });
    return {
      name: options.name,
      set: (labels, value) => gauge.set(guard.resolve(labels), value),
      inc: (labels, value) => gauge.inc(guard.resolve(labels ?? empty()), value ?? 1),
      dec: (labels, value) => gauge.dec(guard.resolve(labels ?? empty()), value ?? 1),
      ...seriesControl(gauge, guard),
    };
  });
}

export function defineHistogram<L extends string = never>(
  options: HistogramOptions<L>,
): HistogramMetric<L> {
  return define(options, 'histogram', (config, guard) => {
    const histogram = new Histogram<L>({
      ...config,
      ...(options.buckets === undefined ? {} : { buckets: [...options.buckets] }),
    });
    return {
      name: options.name,
      observe: (labels, value) => histogram.observe(guard.resolve(labels), value),
      startTimer: (labels) => {
        const end = histogram.startTimer();
        return () => end(guard.resolve(labels ?? empty()));
      },
      bind: (labels) => ({ observe: boundObserve(histogram, guard.bind(labels)) }),
      ...seriesControl(histogram, guard),
    };
  });
}

interface BaseConfig<L extends string> {
  name: string;
  help: string;
  labelNames: readonly L[];
  registers: Registry[];
}

/**
 * Validates the name and labels, then returns the metric already defined under that name
 * in the registry (so independent components can share one) or creates it.
 */
function define<L extends string, H>(
  options: MetricOptions<L>,
  type: MetricType,
  create: (config: BaseConfig<L>, guard: LabelGuard<L>) => H,
): H {
  const { name, help } = options;
  const labelNames = options.labelNames ?? [];
  const registry = options.registry ?? metricsRegistry();
  const signature = labelNames.join(',');
  let entries = defined.get(registry);
  if (entries === undefined) {
    entries = new Map();
    defined.set(registry, entries);
  }
  let existing = entries.get(name);
  // Components look their metrics up on every use (a cleared registry then gets them back):
  // one defined already under this name, type and labels was checked when it was created.
  if (
    existing !== undefined &&
    existing.type === type &&
    existing.signature === signature &&
    registry.getSingleMetric(name) === existing.metric
  ) {
    return existing.handle as H;
  }
  assertMetricName(name, type);
  assertLabelNames(name, labelNames);
  const maxSeries = options.maxSeries ?? DEFAULT_MAX_SERIES;
  if (!Number.isInteger(maxSeries) || maxSeries < 1) {
    throw new InvalidArgumentError(`Metric "${name}": maxSeries must be a positive integer`);
  }
  if (existing !== undefined && registry.getSingleMetric(name) !== existing.metric) {
    // Removed from the registry (e.g. `registry.clear()`) since: define it afresh.
    entries.delete(name);
    existing = undefined;
  }
  if (existing !== undefined) {
    if (existing.type !== type || existing.signature !== signature) {
      throw new InvalidArgumentError(
        `Metric "${name}" is already defined as a ${existing.type} with labels [${existing.signature}]`,
      );
    }
    return existing.handle as H;
  }
  if (registry.getSingleMetric(name) !== undefined) {
    throw new InvalidArgumentError(`Metric "${name}" is already registered outside Sluice`);
  }
  const guard = new LabelGuard(labelNames, options.labelValues ?? {}, maxSeries, () =>
    countFold(registry, name),
  );
  const handle = create({ name, help, labelNames, registers: [registry] }, guard);
  entries.set(name, { type, signature, handle, metric: registry.getSingleMetric(name) });
  return handle;
}

function countFold(registry: Registry, metric: string): void {
  if (metric === FOLDED_METRIC) return;
  defineCounter({
    name: FOLDED_METRIC,
    help: 'Observations whose label values were folded into "other" to bound cardinality.',
    labelNames: ['metric'],
    maxSeries: 1000,
    registry,
  }).inc({ metric });
}

function seriesControl<L extends string>(
  metric: Metric<L> & { remove(labels: Record<L, string>): void },
  guard: LabelGuard<L>,
): Omit<SeriesControl<L>, 'name'> {
  return {
    remove: (labels) => {
      guard.forget(labels);
      const out = {} as Record<L, string>;
      for (const key of Object.keys(labels) as L[]) out[key] = String(labels[key]);
      metric.remove(out);
    },
    reset: () => {
      guard.clear();
      metric.reset();
    },
  };
}

function empty<L extends string>(): LabelValues<L> {
  return {} as LabelValues<L>;
}
