import type Database from 'better-sqlite3';
import type { EdgeTraffic, RouteTraffic, Traffic } from './query.js';

/** Spans read for one answer at most: the newest first, so a busy store stays fast. */
const MAX_SPANS = 50_000;

interface SpanRow {
  service: string;
  route: string | null;
  kind: string | null;
  name: string;
  duration_ms: number;
  error: number;
  destination: string | null;
  parent_service: string | null;
}

/**
 * Request rate, errors and latency per service and route (server and consumer spans), and
 * per edge between services (a span whose parent is another service's) and between a
 * service and a queue or topic (producer and consumer spans with a destination), over the
 * spans that started at or after `since`.
 */
export function trafficSince(db: Database.Database, since: number, now: number): Traffic {
  const rows = db
    .prepare(
      `SELECT s.service, s.route, json_extract(s.record, '$.kind') AS kind, s.name,
         s.duration_ms, s.error,
         json_extract(s.attributes, '$."messaging.destination.name"') AS destination,
         p.service AS parent_service
       FROM spans s
       LEFT JOIN spans p ON p.trace_id = s.trace_id AND p.span_id = s.parent_span_id
       WHERE s.start_ms >= ? ORDER BY s.start_ms DESC LIMIT ${MAX_SPANS}`,
    )
    .all(since) as SpanRow[];
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
  for (const row of rows) {
    const destination = row.destination ?? undefined;
    if (row.kind === 'server' || row.kind === 'consumer') {
      const route = row.route ?? row.name;
      add(
        tally(routes, `${row.service}\n${route}`, () => ({
          ...empty(),
          service: row.service,
          route,
        })),
        row,
      );
    }
    if (row.kind === 'producer' && destination !== undefined) {
      const key = `${row.service}\n${destination}`;
      add(
        tally(edges, key, () => ({ ...empty(), from: row.service, to: destination, via: 'queue' })),
        row,
      );
    } else if (row.kind === 'consumer' && destination !== undefined) {
      const key = `${destination}\n${row.service}`;
      add(
        tally(edges, key, () => ({ ...empty(), from: destination, to: row.service, via: 'queue' })),
        row,
      );
    } else if (row.parent_service !== null && row.parent_service !== row.service) {
      const from = row.parent_service;
      add(
        tally(edges, `${from}\n${row.service}`, () => ({ ...empty(), from, to: row.service })),
        row,
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

function add(tally: Tally, row: SpanRow): void {
  tally.count++;
  tally.errors += row.error;
  tally.durations.push(row.duration_ms);
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
