import type Database from 'better-sqlite3';
import type { EdgeTraffic, RouteTraffic, Traffic } from './query.js';

/** Spans read for one answer at most: the newest first, so a busy store stays fast. */
const MAX_SPANS = 50_000;

/**
 * Spans alike for every figure below: service, route, kind, name, destination, parent
 * service; then their count, errors, and durations (exact, `%.17g`, comma-separated).
 */
type SpanGroup = [
  string,
  string | null,
  string | null,
  string,
  string | null,
  string | null,
  number,
  number,
  string,
];

/**
 * Request rate, errors and latency per service and route (server and consumer spans), and
 * per edge between services (a span whose parent is another service's) and between a
 * service and a queue or topic (producer and consumer spans with a destination), over the
 * spans that started at or after `since`.
 */
export function trafficSince(db: Database.Database, since: number, now: number): Traffic {
  // Spans written before the kind, destination and parent service had columns read them
  // from the JSON and a join; the rest come from the covering index alone. SQLite groups
  // alike spans, newest group first: by its newest span, and that span's id (SQLite takes a
  // bare column from the row of the only MAX), the order in which the spans would be met.
  const groups = db
    .prepare(
      `SELECT service, route, kind, name, destination, parent_service, COUNT(*), SUM(error),
         group_concat(printf('%.17g', duration_ms)), MAX(start_ms) AS last, id AS last_id
       FROM (
         SELECT start_ms, id, service, route, kind, name, duration_ms, error, destination,
           parent_service
         FROM spans WHERE start_ms >= @since AND kind IS NOT NULL
         UNION ALL
         SELECT s.start_ms, s.id, s.service, s.route, json_extract(s.record, '$.kind'), s.name,
           s.duration_ms, s.error, json_extract(s.attributes, '$."messaging.destination.name"'),
           p.service
         FROM spans s
         LEFT JOIN spans p ON p.trace_id = s.trace_id AND p.span_id = s.parent_span_id
         WHERE s.start_ms >= @since AND s.kind IS NULL
         ORDER BY 1 DESC, 2 DESC LIMIT ${MAX_SPANS})
       GROUP BY service, route, kind, name, destination, parent_service
       ORDER BY last DESC, last_id DESC`,
    )
    .raw()
    .all({ since }) as SpanGroup[];
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
  for (const [service, route, kind, name, dest, parentService, count, errors, list] of groups) {
    const spans = { count, errors, durations: list.split(',').map(Number) };
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
  durations: number[];
}

function empty(): Tally {
  return { count: 0, errors: 0, durations: [] };
}

function add(tally: Tally, spans: Tally): void {
  tally.count += spans.count;
  tally.errors += spans.errors;
  for (const duration of spans.durations) tally.durations.push(duration);
}

function summarise(
  tally: Tally,
  seconds: number,
): Omit<RouteTraffic, 'service' | 'route'> & Omit<EdgeTraffic, 'from' | 'to' | 'via'> {
  const sorted = tally.durations.sort((a, b) => a - b);
  const at = (q: number): number =>
    sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
  return {
    count: tally.count,
    errors: tally.errors,
    ratePerSecond: tally.count / seconds,
    p50Ms: at(0.5),
    p95Ms: at(0.95),
    p99Ms: at(0.99),
  };
}
