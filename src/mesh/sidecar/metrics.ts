import type { Registry } from 'prom-client';
import { defineCounter, defineGauge, defineHistogram } from '../../observe/metrics.js';

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'];
export const statusClass = (status: number): string =>
  STATUS_CLASSES[Math.floor(status / 100) - 1] ?? '5xx';

const BREAKER_STATES: Record<string, number> = { closed: 0, 'half-open': 1, open: 2, isolated: 2 };

/**
 * The sidecar's golden metrics. Every label comes from configuration or the registry
 * (upstream and service names, rule names, instance names) and each metric has a series
 * budget, so request data never grows them.
 */
export function meshMetrics(registry?: Registry) {
  const reg = registry === undefined ? {} : { registry };
  const direction = { direction: ['inbound', 'outbound'], status_class: STATUS_CLASSES };
  const requests = defineCounter({
    name: 'sluice_mesh_requests_total',
    help: 'Requests through the sidecar by direction, upstream (or own service inbound), route, peer service and status class.',
    labelNames: ['direction', 'upstream', 'route', 'peer', 'status_class'],
    labelValues: direction,
    maxSeries: 2000,
    ...reg,
  });
  const duration = defineHistogram({
    name: 'sluice_mesh_request_duration_seconds',
    help: 'Time from request to response headers through the sidecar.',
    labelNames: ['direction', 'upstream', 'route', 'peer', 'status_class'],
    labelValues: direction,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    maxSeries: 1000,
    ...reg,
  });
  const retries = defineCounter({
    name: 'sluice_mesh_retries_total',
    help: 'Retries made to an upstream.',
    labelNames: ['upstream'],
    maxSeries: 500,
    ...reg,
  });
  const budgetExhausted = defineCounter({
    name: 'sluice_mesh_retry_budget_exhausted_total',
    help: 'Retries not made because the upstream retry budget was spent.',
    labelNames: ['upstream'],
    maxSeries: 500,
    ...reg,
  });
  const breakerState = defineGauge({
    name: 'sluice_mesh_breaker_state',
    help: 'Per-endpoint breaker: 0 closed, 1 half-open, 2 open.',
    labelNames: ['upstream', 'instance'],
    maxSeries: 2000,
    ...reg,
  });
  const ejections = defineCounter({
    name: 'sluice_mesh_outlier_ejections_total',
    help: 'Endpoints ejected by outlier detection.',
    labelNames: ['upstream'],
    maxSeries: 500,
    ...reg,
  });
  const denied = defineCounter({
    name: 'sluice_mesh_authorization_denied_total',
    help: 'Inbound calls denied by authorization, by peer service and rule.',
    labelNames: ['peer', 'rule'],
    maxSeries: 1000,
    ...reg,
  });
  return {
    request(
      dir: 'inbound' | 'outbound',
      upstream: string,
      route: string,
      peer: string,
      status: number,
      seconds: number,
    ): void {
      const labels = {
        direction: dir,
        upstream,
        route,
        peer,
        status_class: statusClass(status),
      };
      requests.inc(labels);
      duration.observe(labels, seconds);
    },
    retry: (upstream: string) => retries.inc({ upstream }),
    budgetExhausted: (upstream: string) => budgetExhausted.inc({ upstream }),
    breaker: (upstream: string, instance: string, state: string) =>
      breakerState.set({ upstream, instance }, BREAKER_STATES[state] ?? 2),
    forgetEndpoint: (upstream: string, instance: string) =>
      breakerState.remove({ upstream, instance }),
    ejected: (upstream: string) => ejections.inc({ upstream }),
    denied: (peer: string, rule: string) => denied.inc({ peer, rule }),
  };
}

export type MeshMetrics = ReturnType<typeof meshMetrics>;
