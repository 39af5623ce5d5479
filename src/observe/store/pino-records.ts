import { levelOfNumber } from './levels.js';
import type { LogInput } from './otlp-records.js';
import type { Attributes, AttributeValue, LogLevel } from './query.js';

const NAMED_LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);

/**
 * A pino-shaped line (`level`, `time`, `msg`, `trace_id`, `span_id`, and any fields) as a
 * log record for the store; `service` and `instance` are the supervisor's, the rest are
 * kept as attributes.
 */
export function logInputOf(record: Record<string, unknown>): LogInput {
  const { level, time, msg, service, instance, trace_id, span_id, ...rest } = record;
  const attributes: Attributes = {};
  for (const [key, value] of Object.entries(rest)) attributes[key] = attributeOf(value);
  return {
    timeMs: typeof time === 'number' ? time : Date.now(),
    service: typeof service === 'string' ? service : 'unknown',
    ...(typeof instance === 'number' ? { instance } : {}),
    level: levelOf(level),
    message: typeof msg === 'string' ? msg : msg === undefined ? '' : JSON.stringify(msg),
    ...(typeof trace_id === 'string' && /^[0-9a-f]{32}$/.test(trace_id)
      ? { traceId: trace_id }
      : {}),
    ...(typeof span_id === 'string' && /^[0-9a-f]{16}$/.test(span_id) ? { spanId: span_id } : {}),
    attributes,
  };
}

function levelOf(level: unknown): LogLevel {
  if (typeof level === 'number') return levelOfNumber(level);
  if (typeof level === 'string' && NAMED_LEVELS.has(level.toLowerCase())) {
    return level.toLowerCase() as LogLevel;
  }
  return 'info';
}

function attributeOf(value: unknown): AttributeValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return value;
  return JSON.stringify(value) ?? null;
}
