import type Database from 'better-sqlite3';
import { LEVEL_NUMBERS, levelOfNumber } from './levels.js';
import type {
  Attributes,
  LogFilter,
  LogPage,
  LogRecord,
  MetricSeries,
  SeriesQuery,
  ServiceSummary,
  SpanRecord,
  StoreStats,
  TelemetryQuery,
  TraceDetail,
  TraceFilter,
  TraceSummary,
  Traffic,
} from './query.js';
import {
  bounded,
  searchTraces,
  TRACE_COLUMNS,
  type TraceRow,
  traceSummaries,
} from './trace-search.js';
import { trafficSince } from './traffic.js';

export interface QueryContext {
  db: Database.Database;
}

interface LogRow {
  id: number;
  time_ms: number;
  service: string;
  instance: number | null;
  level: number;
  message: string;
  trace_id: string | null;
  span_id: string | null;
  attributes: string;
}

/** `%` and `_` match themselves in a LIKE pattern built from user text. */
function likeText(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** The read side of the telemetry store, over its tables. */
export abstract class StoreQueries implements TelemetryQuery {
  readonly #db: Database.Database;

  constructor(context: QueryContext) {
    this.#db = context.db;
  }

  abstract stats(): StoreStats;

  traffic(since: number): Traffic {
    return trafficSince(this.#db, since, Date.now());
  }

  services(): ServiceSummary[] {
    const byName = new Map<string, ServiceSummary>();
    const entry = (name: string): ServiceSummary => {
      let summary = byName.get(name);
      if (summary === undefined) {
        summary = { name, lastSeenMs: 0, spans: 0, errorSpans: 0, logs: 0 };
        byName.set(name, summary);
      }
      return summary;
    };
    const spanRows = this.#db
      .prepare(
        `SELECT service, MAX(start_ms + duration_ms) AS last, COUNT(*) AS n, SUM(error) AS errors
         FROM spans GROUP BY service`,
      )
      .all() as Array<{ service: string; last: number; n: number; errors: number }>;
    for (const row of spanRows) {
      const summary = entry(row.service);
      summary.spans = row.n;
      summary.errorSpans = row.errors;
      summary.lastSeenMs = Math.max(summary.lastSeenMs, row.last);
    }
    const logRows = this.#db
      .prepare('SELECT service, MAX(time_ms) AS last, COUNT(*) AS n FROM logs GROUP BY service')
      .all() as Array<{ service: string; last: number; n: number }>;
    for (const row of logRows) {
      const summary = entry(row.service);
      summary.logs = row.n;
      summary.lastSeenMs = Math.max(summary.lastSeenMs, row.last);
    }
    return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  searchTraces(filter: TraceFilter = {}): TraceSummary[] {
    return searchTraces(this.#db, filter);
  }

  getTrace(traceId: string): TraceDetail | undefined {
    const id = traceId.toLowerCase();
    const spans = (
      this.#db
        .prepare(
          'SELECT record FROM spans WHERE trace_id = ? ORDER BY start_ms, parent_span_id IS NOT NULL, id',
        )
        .all(id) as Array<{ record: string }>
    ).map((row) => JSON.parse(row.record) as SpanRecord);
    if (spans.length === 0) return undefined;
    const linkedIds = (
      this.#db
        .prepare(
          `SELECT linked_trace_id AS id FROM span_links WHERE trace_id = ?
           UNION SELECT trace_id AS id FROM span_links WHERE linked_trace_id = ?`,
        )
        .all(id, id) as Array<{ id: string }>
    )
      .map((row) => row.id)
      .filter((other) => other !== id);
    const one = this.#db.prepare(`SELECT ${TRACE_COLUMNS} FROM spans WHERE trace_id = ?`);
    const rows = linkedIds
      .slice(0, 100)
      .map((other) => one.get(other) as TraceRow | undefined)
      .filter((row): row is TraceRow => row?.trace_id != null);
    return { traceId: id, spans, linked: traceSummaries(this.#db, rows) };
  }

  logs(filter: LogFilter = {}): LogPage {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (clause: string, ...values: unknown[]): void => {
      where.push(clause);
      params.push(...values);
    };
    if (filter.traceId !== undefined) add('trace_id = ?', filter.traceId.toLowerCase());
    if (filter.service !== undefined) add('service = ?', filter.service);
    if (filter.minLevel !== undefined) add('level >= ?', LEVEL_NUMBERS[filter.minLevel]);
    if (filter.text !== undefined && filter.text !== '') {
      const pattern = likeText(filter.text);
      add("(message LIKE ? ESCAPE '\\' OR attributes LIKE ? ESCAPE '\\')", pattern, pattern);
    }
    if (filter.since !== undefined) add('time_ms >= ?', filter.since);
    if (filter.until !== undefined) add('time_ms < ?', filter.until);
    const tail = filter.after !== undefined;
    if (tail) add('id > ?', filter.after);
    else if (filter.before !== undefined) add('id < ?', filter.before);
    const limit = bounded(filter.limit, 100);
    const rows = this.#db
      .prepare(
        `SELECT * FROM logs ${where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`}
         ORDER BY id ${tail ? 'ASC' : 'DESC'} LIMIT ?`,
      )
      .all(...params, limit) as LogRow[];
    const records = rows.map(logRecord);
    const ids = records.map((r) => r.id);
    const highest = ids.length === 0 ? undefined : Math.max(...ids);
    const page: LogPage = { records, tail: Math.max(highest ?? 0, filter.after ?? 0) };
    if (!tail && records.length === limit) page.older = Math.min(...ids);
    return page;
  }

  metricNames(): string[] {
    return (
      this.#db.prepare('SELECT DISTINCT name FROM series ORDER BY name').all() as Array<{
        name: string;
      }>
    ).map((row) => row.name);
  }

  series(query: SeriesQuery): MetricSeries[] {
    const wanted = Object.entries(query.labels ?? {});
    const candidates = this.#db
      .prepare('SELECT id, labels FROM series WHERE name = ? ORDER BY id')
      .all(query.name) as Array<{ id: number; labels: string }>;
    const points = this.#db.prepare(
      `SELECT time_ms, value FROM samples WHERE series_id = ? AND time_ms >= ? AND time_ms <= ?
       ${query.newest === true ? 'ORDER BY time_ms DESC LIMIT 1' : 'ORDER BY time_ms'}`,
    );
    const out: MetricSeries[] = [];
    const limit = bounded(query.limit, 100);
    for (const candidate of candidates) {
      const labels = JSON.parse(candidate.labels) as Record<string, string>;
      if (!wanted.every(([key, value]) => labels[key] === value)) continue;
      const rows = points.all(candidate.id, query.from, query.to) as Array<{
        time_ms: number;
        value: number;
      }>;
      if (rows.length === 0) continue;
      out.push({ name: query.name, labels, points: rows.map((r) => [r.time_ms, r.value]) });
      if (out.length >= limit) break;
    }
    return out;
  }
}

function logRecord(row: LogRow): LogRecord {
  return {
    id: row.id,
    timeMs: row.time_ms,
    service: row.service,
    ...(row.instance === null ? {} : { instance: row.instance }),
    level: levelOfNumber(row.level),
    message: row.message,
    ...(row.trace_id === null ? {} : { traceId: row.trace_id }),
    ...(row.span_id === null ? {} : { spanId: row.span_id }),
    attributes: JSON.parse(row.attributes) as Attributes,
  };
}
