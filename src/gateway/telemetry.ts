import type { Registry } from 'prom-client';
import {
  type BoundCounter,
  type BoundHistogram,
  type CounterMetric,
  defineCounter,
  defineHistogram,
  type HistogramMetric,
  type Logger,
} from '../observe/index.js';
import type { Exchange } from './handle.js';

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'];
const statusIndex = (status: number): number => {
  const index = Math.floor(status / 100) - 1;
  return index >= 0 && index < STATUS_CLASSES.length ? index : 4;
};
/** Routes times upstreams times status classes stay few; this bounds what reloads leave. */
const MAX_BOUND_ROUTES = 1000;

interface StatusSeries {
  count: BoundCounter;
  time: BoundHistogram;
}

/**
 * The series of each route, upstream and status class, bound once: labels come from the
 * configuration, so the same few are checked and hashed on every response otherwise.
 */
function routeSeries(
  requests: CounterMetric<'route' | 'upstream' | 'status_class'>,
  duration: HistogramMetric<'route' | 'status_class'>,
): (route: string, upstream: string, status: number) => StatusSeries {
  const bound = new Map<string, Map<string, StatusSeries[]>>();
  return (route, upstream, status) => {
    let byUpstream = bound.get(route);
    if (byUpstream === undefined) {
      if (bound.size >= MAX_BOUND_ROUTES) bound.clear();
      byUpstream = new Map();
      bound.set(route, byUpstream);
    }
    let classes = byUpstream.get(upstream);
    if (classes === undefined) {
      classes = STATUS_CLASSES.map((status_class) => ({
        count: requests.bind({ route, upstream, status_class }),
        time: duration.bind({ route, status_class }),
      }));
      byUpstream.set(upstream, classes);
    }
    return classes[statusIndex(status)]!;
  };
}

export interface ExchangeRecorderOptions {
  registry?: Registry;
  metrics?: boolean;
  /** Access log lines go here, one per response. */
  logger?: Logger | null;
}

/**
 * Turns each finished exchange into metrics and an access log line. Route and upstream
 * labels come from configuration (routes that match nothing are `(none)`), so label
 * cardinality is bounded by the config, never by request data.
 */
export function exchangeRecorder(
  options: ExchangeRecorderOptions = {},
): (exchange: Exchange) => void {
  const registry = options.registry === undefined ? {} : { registry: options.registry };
  const metrics = options.metrics ?? true;
  const requests = metrics
    ? defineCounter({
        name: 'sluice_gateway_requests_total',
        help: 'Requests answered by the gateway, by route, upstream and status class.',
        labelNames: ['route', 'upstream', 'status_class'],
        labelValues: { status_class: STATUS_CLASSES },
        maxSeries: 2000,
        ...registry,
      })
    : null;
  const duration = metrics
    ? defineHistogram({
        name: 'sluice_gateway_request_duration_seconds',
        help: 'Time from request to response end, by route and status class.',
        labelNames: ['route', 'status_class'],
        labelValues: { status_class: STATUS_CLASSES },
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        maxSeries: 1000,
        ...registry,
      })
    : null;
  const cache = metrics
    ? defineCounter({
        name: 'sluice_gateway_cache_total',
        help: 'Cacheable requests by route and outcome (hit, stale, miss).',
        labelNames: ['route', 'result'],
        labelValues: { result: ['hit', 'stale', 'miss'] },
        maxSeries: 600,
        ...registry,
      })
    : null;
  const logger = options.logger ?? null;
  const series = requests && duration ? routeSeries(requests, duration) : null;

  return (exchange) => {
    if (series) {
      const { count, time } = series(exchange.route, exchange.upstream, exchange.status);
      count.inc();
      time.observe(exchange.durationMs / 1000);
    }
    if (cache && exchange.cacheStatus !== undefined) {
      // Ours is the last member; those before it are the upstream's caches.
      const status = exchange.cacheStatus;
      const ours = status.slice(status.lastIndexOf(',') + 1);
      const result = ours.includes('hit') ? (ours.includes('stale') ? 'stale' : 'hit') : 'miss';
      cache.inc({ route: exchange.route, result });
    }
    logger?.info(
      {
        req_id: exchange.requestId,
        method: exchange.method,
        path: exchange.path,
        route: exchange.route,
        upstream: exchange.upstream,
        status: exchange.status,
        client: exchange.clientIp,
        sub: exchange.subject,
        ms: Math.round(exchange.durationMs * 100) / 100,
      },
      'access',
    );
  };
}
