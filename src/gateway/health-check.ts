import { parseDuration } from '../core/units.js';
import type { HealthCheckConfig } from './config.js';
import type { Target } from './target.js';
import type { Upstream } from './upstream.js';

/**
 * Active health checks: every interval, a GET of `path` on each target. A target turns
 * unhealthy after `unhealthyThreshold` failures in a row and healthy again after
 * `healthyThreshold` passes; only 2xx and 3xx pass.
 */
export function startHealthChecks(upstream: Upstream, config: HealthCheckConfig): () => void {
  const interval = parseDuration(config.interval ?? '5s');
  const timeout = parseDuration(config.timeout ?? '1s');
  const down = config.unhealthyThreshold ?? 2;
  const up = config.healthyThreshold ?? 2;
  let running = true;

  const probe = async (target: Target): Promise<void> => {
    let ok = false;
    try {
      const response = await target.pool.request({
        method: 'GET',
        path: config.path,
        headers: { 'user-agent': 'sluice-health-check' },
        signal: AbortSignal.timeout(timeout),
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
      await response.body.dump();
      ok = response.statusCode >= 200 && response.statusCode < 400;
    } catch {
      ok = false;
    }
    if (!running) return;
    const counts = target.healthChecks;
    if (ok) {
      counts.failures = 0;
      if (++counts.passes >= up) target.healthy = true;
    } else {
      counts.passes = 0;
      if (++counts.failures >= down) target.healthy = false;
    }
  };

  const round = (): void => {
    for (const target of upstream.targets) void probe(target);
  };
  round();
  const timer = setInterval(round, interval);
  timer.unref();
  return () => {
    running = false;
    clearInterval(timer);
  };
}
