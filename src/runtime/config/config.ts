import { type Env, loadConfig, parseConfig } from '../../core/index.js';
import type { Duration, GatewayConfig, Size } from '../../gateway/config.js';
import type { AuthorizationConfig, UpstreamPolicyConfig } from '../../mesh/policy.js';
import { checkSystem } from './check.js';
import { type drivers, sluiceSchema } from './schema.js';

/** What `sluice.yaml` holds once validated; units stay as written (`2s`, `50%`, `64kb`). */
export interface SluiceConfig {
  version: 1;
  messaging?: { driver: (typeof drivers)[number]; url?: string; prefix?: string };
  telemetry?: {
    metrics?: { port?: number; path?: string; enabled?: boolean };
    traces?: { otlp?: string; sample?: string | number; serviceName?: string };
    store?: TelemetryStoreConfig;
    logs?: {
      level?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
      pretty?: boolean;
    };
  };
  /** The supervisor's control API, always on 127.0.0.1; port 0 takes any free port. */
  control?: { port: number };
  /** The web dashboard on 127.0.0.1, on unless `false`. */
  dashboard?: false | DashboardConfig;
  mesh?: MeshConfig;
  gateway?: GatewayConfig;
  services?: Record<string, ServiceConfig>;
}

export interface DashboardConfig {
  /** Default 9467; 0 takes any free port. */
  port?: number;
  /** The bearer token actions need. Default: a random one, printed at start. */
  token?: string;
}

/** `mesh`: on when declared, unless `enabled: false`. */
export interface MeshConfig {
  enabled?: boolean;
  /** Default `sluice.local`. */
  trustDomain?: string;
  /** The control plane's port on 127.0.0.1. Default 0: any free port. */
  port?: number;
  /** SQLite file relative to the config file's folder (default `data/mesh.db`), or a Redis/PostgreSQL URL. */
  store?: string;
  storePrefix?: string;
  /** Default `data/mesh-ca`, relative to the config file's folder. */
  caDir?: string;
}

/** `telemetry.store`: on when declared, unless `enabled: false`. */
export interface TelemetryStoreConfig {
  enabled?: boolean;
  /** SQLite file, relative to the config file's folder. Default `data/telemetry.db`. */
  path?: string;
  /** OTLP/HTTP receiver port on 127.0.0.1. Default 0: any free port, printed at start. */
  port?: number;
  maxSpans?: number;
  maxLogs?: number;
  maxSamples?: number;
  maxAge?: Duration;
  /** How often each instance's /metrics is read into the store. Default 10s. */
  scrapeInterval?: Duration;
  /** An external OTLP/HTTP collector that receives everything as well. */
  forward?: string;
}

/** `services.<name>.policies.<upstream>`: what the sidecar applies to calls to it. */
export type PolicyConfig = UpstreamPolicyConfig;

export interface ServiceConfig {
  command: string;
  cwd?: string;
  instances?: number;
  port?: number;
  /** Services this one calls; each reaches it at the URL in `<NAME>_URL`. */
  upstreams?: string[];
  env?: Record<string, string | number | boolean>;
  health?:
    | string
    | {
        path: string;
        interval?: Duration;
        timeout?: Duration;
        startTimeout?: Duration;
        unhealthyThreshold?: number;
      };
  /** Per upstream name. */
  policies?: Record<string, PolicyConfig>;
  /** Which services may call this one, and what (applied by its sidecar). */
  authorization?: AuthorizationConfig;
  restart?: {
    policy?: 'always' | 'on-failure' | 'never';
    backoff?: Duration;
    maxBackoff?: Duration;
  };
  drainTimeout?: Duration;
}

export type { Duration, Size };

/**
 * Loads and validates a `sluice.yaml` as a whole: the schema, and what spans sections
 * (unknown upstreams, services and policies, dependency cycles, ports claimed twice).
 * Throws one ConfigError listing every problem, each with its file, line and key path.
 */
export function loadSluiceConfig(
  file: string,
  options: { env?: Env; signal?: AbortSignal } = {},
): Promise<SluiceConfig> {
  return loadConfig<SluiceConfig>(file, { ...options, schema: sluiceSchema, check: checkSystem });
}

/** `loadSluiceConfig` for text already in hand; `file` is only used to name it. */
export function parseSluiceConfig(
  text: string,
  options: { file?: string; env?: Env } = {},
): SluiceConfig {
  const file = options.file ?? '<config>';
  return parseConfig<SluiceConfig>(text, {
    file,
    env: options.env,
    schema: sluiceSchema,
    check: checkSystem,
  });
}
