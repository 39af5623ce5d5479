import type Database from 'better-sqlite3';
import type { TraceFilter, TraceSummary } from './query.js';

export interface TraceRow {
  trace_id: string;
  start: number;
  end: number;
  spans: number;
  errors: number;
  services: string;
}

export const TRACE_COLUMNS = `trace_id, MIN(start_ms) AS start, MAX(start_ms + duration_ms) AS end,
  COUNT(*) AS spans, SUM(error) AS errors, GROUP_CONCAT(DISTINCT service) AS services`;

/** The first window searched back from the newest span; each next one is 4 times as long. */
const FIRST_WINDOW_MS = 60_000;

export function bounded(limit: number | undefined, fallback: number): number {
  if (limit === undefined || !Number.isFinite(limit)) return fallback;
  return Math.max(1, Math.min(1000, Math.floor(limit)));
}

/**
 * The newest traces that match, newest first. A trace that started at or after `from` has
 * every span there, so the traces with a span since `from` hold all of them: the search
 * groups only those, and looks further back (4 times as far each time) until it has
 * `limit` traces or has reached the oldest span. The answer is the one a search of the
 * whole table gives; a page asking for the latest traces reads the last minutes only.
 */
export function searchTraces(db: Database.Database, filter: TraceFilter): TraceSummary[] {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.service !== undefined) {
    where.push('service = ?');
    params.push(filter.service);
  }
  if (filter.route !== undefined) {
    where.push('route = ?');
    params.push(filter.route);
  }
  if (filter.attribute !== undefined) {
    const path = `$."${filter.attribute.key.replace(/"/g, '""')}"`;
    if (filter.attribute.value === undefined) {
      where.push('json_type(attributes, ?) IS NOT NULL');
      params.push(path);
    } else {
      where.push('CAST(json_extract(attributes, ?) AS TEXT) = ?');
      params.push(path, filter.attribute.value);
    }
  }
  const having: string[] = [];
  if (filter.status === 'error') having.push('SUM(error) > 0');
  if (filter.status === 'ok') having.push('SUM(error) = 0');
  if (filter.minDurationMs !== undefined) {
    having.push('MAX(start_ms + duration_ms) - MIN(start_ms) >= ?');
  }
  if (filter.maxDurationMs !== undefined) {
    having.push('MAX(start_ms + duration_ms) - MIN(start_ms) <= ?');
  }
  if (filter.until !== undefined) having.push('MIN(start_ms) < ?');
  having.push('MIN(start_ms) >= ?');
  const havingParams = [filter.minDurationMs, filter.maxDurationMs, filter.until].filter(
    (v) => v !== undefined,
  );
  const limit = bounded(filter.limit, 50);
  const search = db.prepare(
    `SELECT ${TRACE_COLUMNS} FROM spans
     WHERE trace_id IN (SELECT trace_id FROM spans WHERE ${['start_ms >= ?', ...where].join(' AND ')})
     GROUP BY trace_id HAVING ${having.join(' AND ')}
     ORDER BY start DESC LIMIT ?`,
  );
  const range = db
    .prepare(
      `SELECT MIN(start_ms) AS oldest,
         (SELECT MAX(start_ms) FROM spans WHERE start_ms < ?) AS newest FROM spans`,
    )
    .get(filter.until ?? Number.POSITIVE_INFINITY) as {
    oldest: number | null;
    newest: number | null;
  };
  if (range.oldest === null) return [];
  const floor = Math.max(range.oldest, filter.since ?? range.oldest);
  const newest = range.newest ?? floor;
  for (let windowMs = FIRST_WINDOW_MS; ; windowMs *= 4) {
    const from = Math.max(floor, newest - windowMs);
    const rows = search.all(from, ...params, ...havingParams, from, limit) as TraceRow[];
    if (rows.length === limit || from === floor) return traceSummaries(db, rows);
  }
}

/** Each row with its root span: the span without a parent, else the earliest. */
export function traceSummaries(db: Database.Database, rows: TraceRow[]): TraceSummary[] {
  if (rows.length === 0) return [];
  const roots = db
    .prepare(
      `SELECT trace_id, service, name, route FROM (
         SELECT trace_id, service, name, route, ROW_NUMBER() OVER (
           PARTITION BY trace_id ORDER BY parent_span_id IS NOT NULL, start_ms, id) AS n
         FROM spans WHERE trace_id IN (SELECT value FROM json_each(?)))
       WHERE n = 1`,
    )
    .all(JSON.stringify(rows.map((r) => r.trace_id))) as Array<{
    trace_id: string;
    service: string;
    name: string;
    route: string | null;
  }>;
  const rootOf = new Map(roots.map((r) => [r.trace_id, r]));
  return rows.map((row) => {
    const root = rootOf.get(row.trace_id)!;
    return {
      traceId: row.trace_id,
      rootService: root.service,
      rootName: root.name,
      ...(root.route === null ? {} : { route: root.route }),
      startMs: row.start,
      durationMs: row.end - row.start,
      spanCount: row.spans,
      errorCount: row.errors,
      services: row.services.split(',').sort(),
    };
  });
}
