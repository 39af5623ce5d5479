import type Database from 'better-sqlite3';
import type { EdgeTraffic, RouteTraffic, Traffic } from './query.js';

/** Spans read for one answer at most: the newest first, so a busy store stays fast. */
const MAX_SPANS = 50_000;

/**
 * The spans of the window alike to a row `a` of the distinct kinds of span in it, read by a
 * seek on the index `spans_alike`: SQLite sorts no span to group them (a GROUP BY over the
 * window would sort every span of it). Spans written before the kind, destination and parent
 * service had columns read them from the JSON and a join, and are grouped apart.
 */
const GROUP = `FROM spans s INDEXED BY spans_alike WHERE s.service = a.service AND s.kind = a.kind AND s.route IS a.route
  AND s.name = a.name AND s.destination IS a.destination AND s.parent_service IS a.parent_service
  AND (s.start_ms, s.id) >= (@start, @id)`;

/**
 * The newest span of a group, and of ties the highest id: the order in which the spans would
 * be met, newest first.
 */
const NEWEST = 'ORDER BY s.start_ms DESC, s.id DESC LIMIT 1';

/**
 * The figures of a group of spans, read in one pass over it: a JSON array of their count,
 * their errors, and their durations (exact, `%.17g`, comma-separated).
 */
const FIGURES = `json_array(COUNT(*), SUM(error), group_concat(printf('%.17g', duration_ms)))`;

/**
 * Spans alike for every figure below: service, route, kind, name, destination, parent
 * service; then their figures (`FIGURES`).
 */
type SpanGroup = [
  string,
  string | null,
  string | null,
  string,
  string | null,
  string | null,
  string,
];

/**
 * Request rate, errors and latency per service and route (server and consumer spans), and
 * per edge between services (a span whose parent is another service's) and between a
 * service and a queue or topic (producer and consumer spans with a destination), over the
 * spans that started at or after `since`.
 */
export function trafficSince(db: Database.Database, since: number, now: number): Traffic {
  // The window holds the newest MAX_SPANS spans at most: from the oldest of those when there
  // are more. The kinds of span in it are read from the index on start_ms (a DISTINCT keeps
  // a few rows, it does not sort the window), then each kind's figures from `spans_alike`.
  const oldest = db
    .prepare(
      `SELECT start_ms, id FROM spans WHERE start_ms >= ?
       ORDER BY start_ms DESC, id DESC LIMIT 1 OFFSET ${MAX_SPANS - 1}`,
    )
    .raw()
    .get(since) as [number, number] | undefined;
  const from = { start: oldest?.[0] ?? since, id: oldest?.[1] ?? Number.MIN_SAFE_INTEGER };
  const groups = db
    .prepare(
      `WITH alike AS (
         SELECT DISTINCT service, kind, route, name, destination, parent_service
         FROM spans INDEXED BY spans_traffic
         WHERE (start_ms, id) >= (@start, @id) AND kind IS NOT NULL),
       figures AS MATERIALIZED (
         SELECT a.*,
           (SELECT ${FIGURES} ${GROUP}) AS totals,
           (SELECT start_ms ${GROUP} ${NEWEST}) AS last, (SELECT id ${GROUP} ${NEWEST}) AS last_id
         FROM alike a)
       SELECT service, route, kind, name, destination, parent_service, totals, last, last_id
       FROM figures
       UNION ALL
       SELECT service, route, kind, name, destination, parent_service, ${FIGURES},
         MAX(start_ms), id
       FROM (
         SELECT s.start_ms, s.id, s.service, s.route, json_extract(s.record, '$.kind') AS kind,
           s.name, s.duration_ms, s.error,
           json_extract(s.attributes, '$."messaging.destination.name"') AS destination,
           p.service AS parent_service
         FROM spans s
         LEFT JOIN spans p ON p.trace_id = s.trace_id AND p.span_id = s.parent_span_id
         WHERE (s.start_ms, s.id) >= (@start, @id) AND s.kind IS NULL
         ORDER BY 1 DESC, 2 DESC)
       GROUP BY service, route, kind, name, destination, parent_service
       ORDER BY last DESC, last_id DESC`,
    )
    .raw()
    .all(from) as SpanGroup[];
  const routes = new Map<string, Tally & { service: string; route: string }>();
  const edges = new Map<string, Tally & { from: string; to: string; via?: string }>();
  const tally = <T extends Tally>(map: Map<string, T>, key: string, make: () => T): T => {
    let entry = map.get(key);
    if (entry === undefined) {
      entry = make();
      map.set(key, entry);
    }
    return entry;
  };
  for (const [service, route, kind, name, dest, parentService, totals] of groups) {
    const [count, errors, list] = JSON.parse(totals) as [number, number, string];
    const spans = { count, errors, durations: [Float64Array.from(list.split(','), Number)] };
    const destination = dest ?? undefined;
    if (kind === 'server' || kind === 'consumer') {
      const key = route ?? name;
      add(
        tally(routes, `${service}\n${key}`, () => ({ ...empty(), service, route: key })),
        spans,
      );
    }
    if (kind === 'producer' && destination !== undefined) {
      add(
        tally(edges, `${service}\n${destination}`, () => ({
          ...empty(),
          from: service,
          to: destination,
          via: 'queue',
        })),
        spans,
      );
    } else if (kind === 'consumer' && destination !== undefined) {
      add(
        tally(edges, `${destination}\n${service}`, () => ({
          ...empty(),
          from: destination,
          to: service,
          via: 'queue',
        })),
        spans,
      );
    } else if (parentService !== null && parentService !== service) {
      const from = parentService;
      add(
        tally(edges, `${from}\n${service}`, () => ({ ...empty(), from, to: service })),
        spans,
      );
    }
  }
  const seconds = Math.max(1, (now - since) / 1000);
  return {
    since,
    routes: [...routes.values()].map((t) => ({
      service: t.service,
      route: t.route,
      ...summarise(t, seconds),
    })),
    edges: [...edges.values()].map((t) => ({
      from: t.from,
      to: t.to,
      ...(t.via === undefined ? {} : { via: 'queue' as const }),
      ...summarise(t, seconds),
    })),
  };
}

interface Tally {
  count: number;
  errors: number;
  /** The durations of each group of spans added, joined and sorted once summarised. */
  durations: Float64Array[];
}

function empty(): Tally {
  return { count: 0, errors: 0, durations: [] };
}

function add(tally: Tally, spans: Tally): void {
  tally.count += spans.count;
  tally.errors += spans.errors;
  tally.durations.push(...spans.durations);
}

function summarise(
  tally: Tally,
  seconds: number,
): Omit<RouteTraffic, 'service' | 'route'> & Omit<EdgeTraffic, 'from' | 'to' | 'via'> {
  // A typed array sorts numbers natively, without a comparator called per pair.
  const sorted = new Float64Array(tally.count);
  let at = 0;
  for (const part of tally.durations) {
    sorted.set(part, at);
    at += part.length;
  }
  sorted.sort();
  const quantile = (q: number): number =>
    sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
  return {
    count: tally.count,
    errors: tally.errors,
    ratePerSecond: tally.count / seconds,
    p50Ms: quantile(0.5),
    p95Ms: quantile(0.95),
    p99Ms: quantile(0.99),
  };
}
