// The core errors this pattern throws, with their type guards: import them from here.
export {
  InvalidArgumentError,
  isInvalidArgumentError,
  isSluiceError,
  SluiceError,
} from '../core/errors.js';
export { bridgeMetrics } from './bridge-metrics.js';
export { bridgeTracing } from './bridge-tracing.js';
export { type MetricsHandler, metricsHandler } from './handler.js';
export { type LabelValues, OVERFLOW_LABEL_VALUE } from './label-guard.js';
export { createLogger, type Logger, type LoggerOptions, traceFields } from './logger.js';
export {
  type BoundCounter,
  type BoundHistogram,
  type CounterMetric,
  DEFAULT_MAX_SERIES,
  defineCounter,
  defineGauge,
  defineHistogram,
  type GaugeMetric,
  type GaugeOptions,
  type HistogramMetric,
  type HistogramOptions,
  type MetricOptions,
} from './metrics.js';
export { assertLabelNames, assertMetricName, type MetricType } from './naming.js';
export { extractContext, type HeaderCarrier, injectContext } from './propagation.js';
export { collectProcessMetrics, metricsRegistry, type ProcessMetricsOptions } from './registry.js';
export { recordError, type WithSpanOptions, withSpan } from './span.js';
export {
  getTracer,
  setupTracing,
  TRACER_NAME,
  type Tracing,
  type TracingOptions,
} from './tracing.js';
