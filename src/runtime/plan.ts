import { parseDuration } from '../core/index.js';
import type { ServiceConfig } from './config/index.js';

export type RestartPolicy = 'always' | 'on-failure' | 'never';

export interface HealthPlan {
  path: string;
  intervalMs: number;
  timeoutMs: number;
  unhealthyThreshold: number;
}

/** A service with every default applied and every unit turned into milliseconds. */
export interface ServicePlan {
  name: string;
  command: string;
  cwd: string | undefined;
  instances: number;
  /** The first instance's port; instance `i` listens on `basePort + i`. Absent: any free port. */
  basePort: number | undefined;
  upstreams: string[];
  env: Record<string, string>;
  /** Absent: an instance counts as ready once its process is running. */
  health: HealthPlan | undefined;
  /** How long an instance may take to become ready when the system starts. */
  startTimeoutMs: number;
  restart: { policy: RestartPolicy; initialDelayMs: number; maxDelayMs: number };
  drainTimeoutMs: number;
}

export const planDefaults = {
  healthIntervalMs: 500,
  healthTimeoutMs: 2_000,
  startTimeoutMs: 30_000,
  unhealthyThreshold: 3,
  restartDelayMs: 100,
  maxRestartDelayMs: 30_000,
  drainTimeoutMs: 10_000,
} as const;

const ms = (value: string | number | undefined, fallback: number): number =>
  value === undefined ? fallback : parseDuration(value);

export function planService(name: string, config: ServiceConfig): ServicePlan {
  const health = typeof config.health === 'string' ? { path: config.health } : config.health;
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(config.env ?? {})) env[key] = String(value);
  return {
    name,
    command: config.command,
    cwd: config.cwd,
    instances: config.instances ?? 1,
    basePort: config.port === 0 ? undefined : config.port,
    upstreams: [...(config.upstreams ?? [])],
    env,
    health:
      health === undefined
        ? undefined
        : {
            path: health.path,
            intervalMs: ms(health.interval, planDefaults.healthIntervalMs),
            timeoutMs: ms(health.timeout, planDefaults.healthTimeoutMs),
            unhealthyThreshold: health.unhealthyThreshold ?? planDefaults.unhealthyThreshold,
          },
    startTimeoutMs: ms(health?.startTimeout, planDefaults.startTimeoutMs),
    restart: {
      policy: config.restart?.policy ?? 'on-failure',
      initialDelayMs: ms(config.restart?.backoff, planDefaults.restartDelayMs),
      maxDelayMs: ms(config.restart?.maxBackoff, planDefaults.maxRestartDelayMs),
    },
    drainTimeoutMs: ms(config.drainTimeout, planDefaults.drainTimeoutMs),
  };
}
