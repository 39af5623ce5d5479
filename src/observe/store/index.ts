export { type OtlpForwarderOptions, otlpForwarder } from './forwarder.js';
export { encodingOf, OtlpPayloadError, type OtlpSignal } from './otlp-decode.js';
export type { LogInput, SampleInput } from './otlp-records.js';
export { logInputOf } from './pino-records.js';
export { parsePrometheusText } from './prometheus-text.js';
export type {
  Attributes,
  AttributeValue,
  EdgeTraffic,
  LogFilter,
  LogLevel,
  LogPage,
  LogRecord,
  MetricSeries,
  RouteTraffic,
  SeriesQuery,
  ServiceSummary,
  Signal,
  SpanEvent,
  SpanFigures,
  SpanKind,
  SpanLink,
  SpanRecord,
  SpanStatus,
  StoreCaps,
  StoreStats,
  TelemetryQuery,
  TraceDetail,
  TraceFilter,
  TraceSummary,
  Traffic,
} from './query.js';
export { DEFAULT_MAX_OTLP_BODY, type OtlpReceiverOptions, otlpHandler } from './receiver.js';
export { type ScraperOptions, type ScrapeTarget, scrapeOnce } from './scraper.js';
export { DEFAULT_STORE_CAPS, TelemetryStore, type TelemetryStoreOptions } from './store.js';
