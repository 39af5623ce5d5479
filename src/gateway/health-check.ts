import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { parseDuration } from '../core/units.js';
import type { HealthCheckConfig } from './config.js';
import type { Target } from './target.js';
import type { Upstream } from './upstream.js';
import { callUpstream } from './upstream-call.js';

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
      // The proxy's own call: its body stream listens for errors from birth, where the
      // body of undici's request() could fail before anything listened to it.
      const response = await callUpstream(
        target.pool,
        {
          method: 'GET',
          path: config.path,
          headers: { 'user-agent': 'sluice-health-check' },
          headersTimeout: timeout,
          bodyTimeout: timeout,
        },
        AbortSignal.timeout(timeout),
      );
      if (response.body instanceof Readable) await finished(response.body.resume());
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
