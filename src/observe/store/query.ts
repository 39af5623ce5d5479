/**
 * What the embedded telemetry store answers: the contract the dashboard reads through.
 * Every call is synchronous (SQLite in the same process) and bounded by a `limit`; times
 * are Unix epoch milliseconds, ids are lowercase hex (32 digits for a trace, 16 for a span).
 */

export type AttributeValue = string | number | boolean | null | AttributeValue[];
export type Attributes = Record<string, AttributeValue>;

export type SpanKind = 'internal' | 'server' | 'client' | 'producer' | 'consumer';
export type SpanStatus = 'unset' | 'ok' | 'error';

export interface SpanEvent {
  name: string;
  timeMs: number;
  attributes: Attributes;
}

/** A link from a span to another span, e.g. a consumer's `process` span to the producer's `send`. */
export interface SpanLink {
  traceId: string;
  spanId: string;
  attributes: Attributes;
}

export interface SpanRecord {
  traceId: string;
  spanId: string;
  /** Absent on a trace's root span. */
  parentSpanId?: string;
  /** `service.name` of the resource that sent the span. */
  service: string;
  name: string;
  kind: SpanKind;
  startMs: number;
  durationMs: number;
  status: SpanStatus;
  statusMessage?: string;
  attributes: Attributes;
  /** Resource attributes other than `service.name`. */
  resource: Attributes;
  scope: string;
  events: SpanEvent[];
  links: SpanLink[];
}

export interface TraceSummary {
  traceId: string;
  /** The span without a parent in the store; the earliest span when the root is missing. */
  rootService: string;
  rootName: string;
  /** `http.route` of the root span, when it has one. */
  route?: string;
  startMs: number;
  /** From the earliest start to the latest end of its spans. */
  durationMs: number;
  spanCount: number;
  errorCount: number;
  services: string[];
}

export interface TraceFilter {
  /** Traces with at least one span from this service. */
  service?: string;
  /** Traces with a span whose `http.route` is this. */
  route?: string;
  /** `error`: traces with at least one span in error; `ok`: traces without any. */
  status?: 'ok' | 'error';
  minDurationMs?: number;
  maxDurationMs?: number;
  /** Traces with a span carrying this attribute (with this value when given, compared as text). */
  attribute?: { key: string; value?: string };
  /** Traces that started at or after / before these times. */
  since?: number;
  until?: number;
  /** Newest first; default 50, at most 1000. */
  limit?: number;
}

export interface TraceDetail {
  traceId: string;
  /** Ordered by start time. */
  spans: SpanRecord[];
  /**
   * Traces joined to this one by span links, either way: a queue hop's consumer trace when
   * the producer is here, the producer's trace when the consumer is here.
   */
  linked: TraceSummary[];
}

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

export interface LogRecord {
  /** Increases with every record stored: the cursor for tails and pages. */
  id: number;
  timeMs: number;
  service: string;
  instance?: number;
  level: LogLevel;
  message: string;
  traceId?: string;
  spanId?: string;
  /** Every other field of the line. */
  attributes: Attributes;
}

export interface LogFilter {
  traceId?: string;
  service?: string;
  /** This level and above. */
  minLevel?: LogLevel;
  /** Substring of the message or of any field, case-insensitive. */
  text?: string;
  since?: number;
  until?: number;
  /**
   * Tail: records with `id > after`, oldest first. Without it: the newest records, newest
   * first, with `before` paging back (records with `id < before`).
   */
  after?: number;
  before?: number;
  /** Default 100, at most 1000. */
  limit?: number;
}

export interface LogPage {
  records: LogRecord[];
  /** Pass as `after` for the next tail call: the highest id seen, or the `after` given. */
  tail: number;
  /** Pass as `before` for the previous page; absent when there is nothing older. */
  older?: number;
}

export interface SeriesQuery {
  name: string;
  /** Exact matches on labels; a series must carry every one. */
  labels?: Record<string, string>;
  from: number;
  to: number;
  /** Series returned at most; default 100, at most 1000. */
  limit?: number;
  /** Only the newest point of each series in the range. */
  newest?: boolean;
}

export interface MetricSeries {
  name: string;
  labels: Record<string, string>;
  /** `[timeMs, value]`, oldest first. */
  points: Array<[number, number]>;
}

export interface ServiceSummary {
  name: string;
  /** The latest span, log record or sample from it. */
  lastSeenMs: number;
  spans: number;
  errorSpans: number;
  logs: number;
}

export type Signal = 'spans' | 'logs' | 'samples';

export interface StoreCaps {
  /** Records kept per signal; the oldest go first. */
  maxSpans: number;
  maxLogs: number;
  maxSamples: number;
  /** Records older than this go, whatever their count. */
  maxAgeMs: number;
}

export interface StoreStats {
  caps: StoreCaps;
  counts: Record<Signal, number>;
  /** Removed to keep within the caps since the store was opened. */
  dropped: Record<Signal, number>;
  oldestMs: Partial<Record<Signal, number>>;
}

/** Rate, errors and latency of one group of spans over a window. */
export interface SpanFigures {
  count: number;
  errors: number;
  ratePerSecond: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
}

/** A service's server and consumer spans, by `http.route`, else by span name. */
export interface RouteTraffic extends SpanFigures {
  service: string;
  route: string;
}

/** Calls between services, or between a service and a queue or topic (`via: 'queue'`). */
export interface EdgeTraffic extends SpanFigures {
  from: string;
  to: string;
  via?: 'queue';
}

export interface Traffic {
  since: number;
  routes: RouteTraffic[];
  edges: EdgeTraffic[];
}

/** The read side of the telemetry store. */
export interface TelemetryQuery {
  services(): ServiceSummary[];
  searchTraces(filter?: TraceFilter): TraceSummary[];
  getTrace(traceId: string): TraceDetail | undefined;
  logs(filter?: LogFilter): LogPage;
  /** Names of the metrics with samples, sorted. */
  metricNames(): string[];
  series(query: SeriesQuery): MetricSeries[];
  stats(): StoreStats;
  /** Golden signals per service route and per edge, from the spans since `since`. */
  traffic(since: number): Traffic;
}
