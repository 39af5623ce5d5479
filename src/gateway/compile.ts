import type { Registry } from 'prom-client';
import { InvalidArgumentError } from '../core/errors.js';
import { parseDuration, parsePercent } from '../core/units.js';
import type { LoadShedder, RateLimiter } from '../flow/index.js';
import type { Logger } from '../observe/index.js';
import type { Bulkhead, CircuitBreaker } from '../resilience/index.js';
import { type ClientIdentity, clientIdentity } from './client-cert.js';
import {
  FILTER_ORDER,
  type FilterName,
  type GatewayConfig,
  type RouteConfig,
  type UpstreamConfig,
} from './config.js';
import { TrustedProxies } from './forwarding.js';
import { startHealthChecks } from './health-check.js';
import { proxy } from './proxy.js';
import { Router } from './router.js';
import { Shedder } from './shedder.js';
import { chain, type Filter, type Handler } from './types.js';
import { Upstream } from './upstream.js';

/** A rate limit as configured, for the admin API. */
export interface LimiterInfo {
  route: string;
  by: string;
  limit: string;
  store: 'memory' | 'redis';
  limiter: RateLimiter;
}

export interface RoutePolicies {
  breaker?: CircuitBreaker;
  bulkhead?: Bulkhead;
  /** The adaptive concurrency limit in front of the upstream. */
  concurrency?: LoadShedder;
}

export interface CompiledRoute {
  readonly name: string;
  readonly config: RouteConfig;
  readonly upstream: string;
  readonly handler: Handler;
}

/** Everything one version of the configuration built; swapped whole on reload. */
export interface GatewayRuntime {
  readonly config: GatewayConfig;
  readonly router: Router<CompiledRoute>;
  readonly routes: readonly CompiledRoute[];
  readonly upstreams: ReadonlyMap<string, Upstream>;
  readonly trusted: TrustedProxies;
  readonly policies: ReadonlyMap<string, RoutePolicies>;
  readonly limiters: ReadonlyMap<string, LimiterInfo>;
  readonly shedder: Shedder | null;
  /** With `tls.clientCert`: the verified client's subject onto each request. */
  readonly clientIdentity: ClientIdentity | null;
  /** Requests being served with this configuration. */
  active: number;
  close(): Promise<void>;
}

export interface CompileOptions {
  baseDir?: string | undefined;
  workers?: number | undefined;
  registry?: Registry | undefined;
  logger?: Logger | undefined;
}

/** What a filter factory may use besides its route. */
export interface CompileEnv {
  readonly config: GatewayConfig;
  /** Relative file names in the configuration (schemas) resolve from here. */
  readonly baseDir: string;
  /** Processes serving the same listener (cluster mode); local rate limits split across them. */
  readonly workers: number;
  /** Where filters register their metrics; the process-wide registry when undefined. */
  readonly registry: Registry | undefined;
  readonly upstreams: ReadonlyMap<string, Upstream>;
  readonly closers: (() => void | Promise<void>)[];
  /** Breakers, bulkheads and concurrency limits by route name, for the admin API. */
  readonly policies: Map<string, RoutePolicies>;
  /** Rate limiters by name. */
  readonly limiters: Map<string, LimiterInfo>;
  /** Where filters report their own faults; none in bare compiles. */
  readonly logger: Logger | undefined;
  /** One instance per key for the whole configuration (a JWKS cache, a Redis client). */
  memo<T>(key: string, make: () => T): T;
}

export type FilterFactory = (
  route: RouteConfig,
  env: CompileEnv,
  routeName: string,
) => Filter | null;

const ms = (value: string | number | undefined, fallback: number): number =>
  value === undefined ? fallback : parseDuration(value);

function buildUpstream(name: string, config: UpstreamConfig): Upstream {
  const outlier = config.outlier;
  return new Upstream({
    name,
    targets: config.targets,
    balance: config.balance ?? 'round-robin',
    pool: {
      ...(config.connections === undefined ? {} : { connections: config.connections }),
      connectTimeoutMs: ms(config.connectTimeout, 5_000),
      keepAliveTimeoutMs: ms(config.keepAliveTimeout, 4_000),
    },
    outlier:
      outlier === false
        ? false
        : {
            ...(outlier?.consecutiveFailures === undefined
              ? {}
              : { consecutiveFailures: outlier.consecutiveFailures }),
            ...(outlier?.maxEjected === undefined
              ? {}
              : { maxEjectedPercent: parsePercent(outlier.maxEjected) }),
            ...(outlier?.ejection === undefined
              ? {}
              : { ejectionMs: parseDuration(outlier.ejection) }),
          },
  });
}

/**
 * Builds routers, upstream pools and filter chains from a configuration. Throws without
 * side effects left behind if anything is wrong, so a bad reload changes nothing.
 */
export function compile(
  config: GatewayConfig,
  factories: Partial<Record<FilterName, FilterFactory>>,
  options: CompileOptions = {},
): GatewayRuntime {
  const baseDir = options.baseDir ?? process.cwd();
  const workers = options.workers ?? 1;
  const upstreams = new Map<string, Upstream>();
  const closers: (() => void | Promise<void>)[] = [];
  const upstreamConfigs = new Map<string, UpstreamConfig>(Object.entries(config.upstreams ?? {}));
  const close = async (): Promise<void> => {
    await Promise.all([
      ...closers.map((c) => c()),
      ...[...upstreams.values()].map((u) => u.close()),
    ]);
  };
  try {
    for (const [name, upstreamConfig] of upstreamConfigs) {
      const upstream = buildUpstream(name, upstreamConfig);
      upstreams.set(name, upstream);
      if (upstreamConfig.healthCheck) {
        closers.push(startHealthChecks(upstream, upstreamConfig.healthCheck));
      }
    }
    const memos = new Map<string, unknown>();
    const policies = new Map<string, RoutePolicies>();
    const limiters = new Map<string, LimiterInfo>();
    const env: CompileEnv = {
      config,
      baseDir,
      workers,
      registry: options.registry,
      policies,
      limiters,
      upstreams,
      closers,
      logger: options.logger,
      memo: <T>(key: string, make: () => T): T => {
        if (!memos.has(key)) memos.set(key, make());
        return memos.get(key) as T;
      },
    };
    const trusted = new TrustedProxies(config.trustedProxies ?? []);
    const router = new Router<CompiledRoute>();
    const routes: CompiledRoute[] = [];
    config.routes.forEach((route, index) => {
      const name = route.name ?? `route${index}`;
      const upstreamName = route.upstream;
      if (!upstreams.has(upstreamName)) {
        if (!/^https?:\/\//.test(upstreamName)) {
          throw new InvalidArgumentError(`route "${name}": unknown upstream "${upstreamName}"`);
        }
        upstreams.set(upstreamName, buildUpstream(upstreamName, { targets: [upstreamName] }));
        upstreamConfigs.set(upstreamName, { targets: [upstreamName] });
      }
      const upstreamConfig = upstreamConfigs.get(upstreamName)!;
      const terminal = proxy({
        upstream: upstreams.get(upstreamName)!,
        trusted,
        headersTimeoutMs: ms(upstreamConfig.headersTimeout, 30_000),
        bodyTimeoutMs: ms(upstreamConfig.bodyTimeout, 30_000),
        preserveHost: upstreamConfig.preserveHost ?? false,
        via: config.via ?? 'sluice',
      });
      const filters: Filter[] = [];
      for (const filterName of route.filters ?? FILTER_ORDER) {
        const factory = factories[filterName];
        const filter = factory?.(route, env, name);
        if (filter) filters.push(filter);
      }
      const compiled: CompiledRoute = {
        name,
        config: route,
        upstream: upstreamName,
        handler: chain(filters, terminal),
      };
      routes.push(compiled);
      router.add(
        {
          path: route.path,
          ...(route.hosts ? { hosts: route.hosts } : {}),
          ...(route.methods ? { methods: route.methods } : {}),
          ...(route.headers ? { headers: route.headers } : {}),
        },
        compiled,
      );
    });
    const shedding = config.shedding;
    const shedder =
      shedding === false
        ? null
        : new Shedder({
            maxInflight: shedding?.maxInflight ?? 10_000,
            maxEventLoopDelayMs: ms(shedding?.maxEventLoopDelay, 500),
            retryAfterMs: ms(shedding?.retryAfter, 1_000),
          });
    return {
      config,
      router,
      routes,
      upstreams,
      trusted,
      policies,
      limiters,
      shedder,
      clientIdentity: clientIdentity(config.tls?.clientCert),
      active: 0,
      close,
    };
  } catch (error) {
    void close();
    throw error;
  }
}
