import { Pool } from 'undici';

export interface PoolOptions {
  /** Connections kept per target. */
  connections: number;
  connectTimeoutMs: number;
  keepAliveTimeoutMs: number;
}

export interface OutlierOptions {
  /** Consecutive failures (connection errors, 5xx) that eject a target. */
  consecutiveFailures: number;
  /** First ejection length; doubles for each ejection in a row. */
  ejectionMs: number;
  /** Never eject more than this fraction of an upstream's targets. */
  maxEjectedPercent: number;
}

/** One address of an upstream: its connection pool and what we know of its health. */
export class Target {
  readonly pool: Pool;
  inflight = 0;
  /** Set by active health checks; targets start healthy. */
  healthy = true;
  ejectedUntil = 0;
  ejections = 0;
  consecutiveFailures = 0;
  healthChecks = { passes: 0, failures: 0 };

  constructor(
    readonly url: string,
    options: PoolOptions,
  ) {
    this.pool = new Pool(url, {
      connections: options.connections,
      connectTimeout: options.connectTimeoutMs,
      keepAliveTimeout: options.keepAliveTimeoutMs,
      pipelining: 1,
    });
  }

  available(now: number): boolean {
    return this.healthy && this.ejectedUntil <= now;
  }

  toJSON(): Record<string, unknown> {
    const now = Date.now();
    return {
      url: this.url,
      healthy: this.healthy,
      ejected: this.ejectedUntil > now,
      ejectedForMs: Math.max(0, this.ejectedUntil - now),
      inflight: this.inflight,
      consecutiveFailures: this.consecutiveFailures,
    };
  }
}
