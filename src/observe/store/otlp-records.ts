import { OtlpPayloadError } from './otlp-decode.js';
import {
  attributes,
  enumValue,
  hexId,
  list,
  nanosToMs,
  number,
  object,
  text,
} from './otlp-values.js';
import type { Attributes, LogLevel, LogRecord, SpanKind, SpanRecord, SpanStatus } from './query.js';

/** A log record before the store gives it an id. */
export type LogInput = Omit<LogRecord, 'id'>;

export interface SampleInput {
  name: string;
  labels: Record<string, string>;
  timeMs: number;
  value: number;
}

const KINDS: readonly SpanKind[] = [
  'internal',
  'internal',
  'server',
  'client',
  'producer',
  'consumer',
];
const KIND_NAMES = [
  'SPAN_KIND_UNSPECIFIED',
  'SPAN_KIND_INTERNAL',
  'SPAN_KIND_SERVER',
  'SPAN_KIND_CLIENT',
  'SPAN_KIND_PRODUCER',
  'SPAN_KIND_CONSUMER',
];
const STATUSES: readonly SpanStatus[] = ['unset', 'ok', 'error'];
const STATUS_NAMES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];

interface ResourceView {
  service: string;
  rest: Attributes;
}

function resourceOf(value: unknown): ResourceView {
  const all = attributes(object(value).attributes);
  const { 'service.name': name, ...rest } = all;
  return { service: typeof name === 'string' && name !== '' ? name : 'unknown', rest };
}

export function spansOf(request: unknown): SpanRecord[] {
  const out: SpanRecord[] = [];
  for (const resourceSpans of list(object(request).resourceSpans)) {
    const resource = resourceOf(resourceSpans.resource);
    for (const scopeSpans of list(resourceSpans.scopeSpans)) {
      const scope = text(object(scopeSpans.scope).name);
      for (const span of list(scopeSpans.spans)) out.push(spanOf(span, resource, scope));
    }
  }
  return out;
}

function spanOf(span: Record<string, unknown>, resource: ResourceView, scope: string): SpanRecord {
  const traceId = hexId(span.traceId, 16, 'traceId');
  const spanId = hexId(span.spanId, 8, 'spanId');
  if (traceId === undefined || spanId === undefined) {
    throw new OtlpPayloadError('a span needs a traceId and a spanId');
  }
  const parentSpanId = hexId(span.parentSpanId, 8, 'parentSpanId');
  const startMs = nanosToMs(span.startTimeUnixNano);
  const endMs = nanosToMs(span.endTimeUnixNano);
  const status = object(span.status);
  const statusMessage = text(status.message);
  return {
    traceId,
    spanId,
    ...(parentSpanId === undefined ? {} : { parentSpanId }),
    service: resource.service,
    name: text(span.name),
    kind: KINDS[enumValue(span.kind, KIND_NAMES)] ?? 'internal',
    startMs,
    durationMs: Math.max(0, endMs - startMs),
    status: STATUSES[enumValue(status.code, STATUS_NAMES)] ?? 'unset',
    ...(statusMessage === '' ? {} : { statusMessage }),
    attributes: attributes(span.attributes),
    resource: resource.rest,
    scope,
    events: list(span.events).map((event) => ({
      name: text(event.name),
      timeMs: nanosToMs(event.timeUnixNano),
      attributes: attributes(event.attributes),
    })),
    links: list(span.links).flatMap((link) => {
      const linkTrace = hexId(link.traceId, 16, 'link traceId');
      const linkSpan = hexId(link.spanId, 8, 'link spanId');
      if (linkTrace === undefined || linkSpan === undefined) return [];
      return [{ traceId: linkTrace, spanId: linkSpan, attributes: attributes(link.attributes) }];
    }),
  };
}

/** OTLP severity numbers 1–24 in six bands of four. */
export function levelOfSeverity(severity: number): LogLevel {
  const levels: LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
  if (severity < 1) return 'info';
  return levels[Math.min(5, Math.floor((severity - 1) / 4))]!;
}

export function logsOf(request: unknown): LogInput[] {
  const out: LogInput[] = [];
  for (const resourceLogs of list(object(request).resourceLogs)) {
    const resource = resourceOf(resourceLogs.resource);
    for (const scopeLogs of list(resourceLogs.scopeLogs)) {
      for (const log of list(scopeLogs.logRecords)) {
        const traceId = hexId(log.traceId, 16, 'traceId');
        const spanId = hexId(log.spanId, 8, 'spanId');
        const body = attributes([{ key: 'body', value: log.body }]).body;
        const time = nanosToMs(log.timeUnixNano) || nanosToMs(log.observedTimeUnixNano);
        out.push({
          timeMs: time || Date.now(),
          service: resource.service,
          level: levelOfSeverity(number(log.severityNumber ?? 0)),
          message: typeof body === 'string' ? body : JSON.stringify(body ?? ''),
          ...(traceId === undefined ? {} : { traceId }),
          ...(spanId === undefined ? {} : { spanId }),
          attributes: attributes(log.attributes),
        });
      }
    }
  }
  return out;
}

/**
 * Gauges and sums become one sample per point; histograms and summaries their `_count`
 * and `_sum`, as Prometheus would name them. Labels are the point's attributes plus `service`.
 */
export function samplesOf(request: unknown): SampleInput[] {
  const out: SampleInput[] = [];
  for (const resourceMetrics of list(object(request).resourceMetrics)) {
    const { service } = resourceOf(resourceMetrics.resource);
    for (const scopeMetrics of list(resourceMetrics.scopeMetrics)) {
      for (const metric of list(scopeMetrics.metrics)) {
        const name = text(metric.name);
        if (name === '') continue;
        const emit = (suffix: string, point: Record<string, unknown>, value: number): void => {
          const labels: Record<string, string> = { service };
          for (const [key, v] of Object.entries(attributes(point.attributes))) {
            labels[key] = typeof v === 'string' ? v : JSON.stringify(v);
          }
          out.push({ name: name + suffix, labels, timeMs: nanosToMs(point.timeUnixNano), value });
        };
        for (const kind of ['gauge', 'sum'] as const) {
          for (const point of list(object(metric[kind]).dataPoints)) {
            emit('', point, pointValue(point));
          }
        }
        for (const kind of ['histogram', 'exponentialHistogram', 'summary'] as const) {
          for (const point of list(object(metric[kind]).dataPoints)) {
            emit('_count', point, number(point.count ?? 0));
            emit('_sum', point, number(point.sum ?? 0));
          }
        }
      }
    }
  }
  return out;
}

/** A number point's value: `asDouble` or `asInt`, whichever the point carries. */
function pointValue(point: Record<string, unknown>): number {
  if (Object.hasOwn(point, 'asDouble')) return number(point.asDouble);
  if (Object.hasOwn(point, 'asInt')) return number(point.asInt);
  return 0;
}
