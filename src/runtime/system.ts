import { resolve } from 'node:path';
import type { Registry } from 'prom-client';
import { type Component, Lifecycle, type LifecycleEvent, type StopReport } from '../core/index.js';
import { policiesOf } from '../mesh/control/policies-of.js';
import { createLogger, type Logger } from '../observe/index.js';
import type { TelemetryQuery } from '../observe/store/index.js';
import {
  declaredPorts,
  defaultMetricsPort,
  envName,
  meshEnabled,
  type SluiceConfig,
  startLevels,
  startOrder,
} from './config/index.js';
import { ControlServer, type SystemStatus } from './control-server.js';
import type { InstanceInfo } from './instance.js';
import { ServiceLevel } from './level.js';
import { LogSink, type LogSinkOptions } from './logs.js';
import { MeshControlComponent } from './mesh-control.js';
import { runtimeMetrics } from './metrics.js';
import { MetricsServer } from './metrics-server.js';
import { planService } from './plan.js';
import { checkPorts } from './port-check.js';
import { Service } from './service.js';
import { MeshSidecars } from './sidecars.js';
import { TelemetryStoreComponent } from './telemetry-store.js';
import { TracingComponent, tracingEnv } from './tracing.js';

/** What extra components (the gateway, later) see of the running system. */
export interface SystemView {
  readonly config: SluiceConfig;
  /** Where callers reach `service`; known once it has started. */
  urlOf(service: string): string | undefined;
  readonly instances: InstanceInfo[];
  /**
   * With the mesh, the sidecar processes: service `<name>-sidecar`, the index of its app,
   * `url` its admin address.
   */
  readonly sidecars: InstanceInfo[];
}

/** The instance of `caller` that will be given the URL, and the service it calls. */
export interface UpstreamRoute {
  caller: { service: string; index: number };
  upstream: string;
  /** The URL the supervisor would give: the upstream itself, or its round-robin proxy. */
  url: string;
}

export interface StartSystemOptions {
  /** Where instances listen and callers reach them. Default `127.0.0.1`. */
  host?: string;
  /** The merged log. Default: pretty on a terminal, JSON lines otherwise, to stdout. */
  logs?: LogSink | LogSinkOptions;
  /** Base environment of every instance. Default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Base of relative service `cwd`s. Default `process.cwd()`. */
  cwd?: string;
  registry?: Registry;
  /** Drain time for rolling back a failed start, in ms. Default 10 s. */
  rollbackTimeout?: number;
  /**
   * Started in order after every service is ready, stopped before any service: the seam
   * through which the gateway will be run.
   */
  components?: (system: SystemView) => Component[];
  /**
   * The URL an instance is given for an upstream (`PAYMENT_URL`): the seam where a sidecar
   * goes. Default: `route.url`.
   */
  upstreamUrl?: (route: UpstreamRoute) => string;
}

export interface System extends SystemView {
  /** Where the supervisor's metrics are served, when `telemetry.metrics` asks for it. */
  readonly metricsUrl: string | undefined;
  /** Where processes send OTLP/HTTP, when `telemetry.store` is on. */
  readonly telemetryUrl: string | undefined;
  /** The telemetry store's queries, once started, when `telemetry.store` is on. */
  readonly telemetry: TelemetryQuery | undefined;
  /** Every service and instance, as the control API's `GET /system` answers. */
  status(): SystemStatus;
  /** SIGKILLs one instance (its restart policy brings it back); its pid, or undefined. */
  killInstance(service: string, index: number): number | undefined;
  /** Where the control API listens (`GET /system`, …), when `control` asks for it. */
  readonly controlUrl: string | undefined;
  /** The mesh's control plane, once started, when `mesh` is on. */
  readonly meshControlUrl: string | undefined;
  /**
   * Hands the sidecars the policies and authorization of `next` (a validated file): each
   * sidecar swaps in its service's whole, or keeps its old policy if it refuses the new one.
   */
  reloadMeshPolicies(next: SluiceConfig): Promise<void>;
  /** Resolves once every service and component is up; rejects (after rolling back) if not. */
  readonly ready: Promise<void>;
  /**
   * Stops components, then services level by level in reverse, sharing one deadline; a
   * process still running when it passes is killed. Resolves once every process has exited.
   */
  stop(options?: { drainTimeout?: number }): Promise<StopReport>;
  /** SIGKILL to every instance at once, synchronously. */
  kill(): void;
  /** For `handleSignals`. */
  readonly lifecycle: Lifecycle;
  readonly logger: Logger;
}

function sinkOf(logs: StartSystemOptions['logs']): LogSink {
  if (logs instanceof LogSink) return logs;
  const tty = process.stdout.isTTY === true;
  return new LogSink(logs ?? { format: tty ? 'pretty' : 'json', color: tty });
}

/**
 * Starts a validated `sluice.yaml`'s services in dependency order, each level of the
 * dependency graph at once, then `components`. Every fixed port is checked first.
 */
export function startSystem(config: SluiceConfig, options: StartSystemOptions = {}): System {
  const host = options.host ?? '127.0.0.1';
  const sink = sinkOf(options.logs);
  const logger = createLogger({
    name: 'sluice',
    level: config.telemetry?.logs?.level ?? 'info',
    destination: sink.destination('sluice'),
  });
  const metrics = runtimeMetrics(options.registry);
  const baseEnv = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const declared = config.services ?? {};
  const services = new Map<string, Service>();

  const view: SystemView = {
    config,
    urlOf: (name) => services.get(name)?.url,
    get instances() {
      return [...services.values()].flatMap((s) => s.instances);
    },
    get sidecars() {
      return [...services.values()].flatMap((s) => s.sidecars);
    },
  };

  const storeConfig = config.telemetry?.store;
  const telemetryStore =
    storeConfig === undefined || storeConfig.enabled === false
      ? undefined
      : new TelemetryStoreComponent({
          config: storeConfig,
          cwd,
          host: '127.0.0.1',
          registry: options.registry,
          // Every instance, and the sidecar beside each (its admin port serves `/metrics`).
          targets: () =>
            [...view.instances, ...view.sidecars]
              .filter((i) => i.pid !== undefined)
              .map((i) => ({
                url: `${i.url}/metrics`,
                labels: { service: i.service, instance: String(i.index) },
              })),
        });
  if (telemetryStore !== undefined) sink.onRecord((record) => telemetryStore.addLog(record));

  const mesh = meshEnabled(config) ? meshControlOf(config, cwd, logger) : undefined;
  const sidecars =
    mesh === undefined ? undefined : new MeshSidecars({ control: mesh, host, env: baseEnv });

  for (const name of startOrder(declared)) {
    const plan = planService(name, declared[name]!);
    plan.cwd = resolve(cwd, plan.cwd ?? '.');
    const env = (
      index: number,
      port: number,
      sidecarUrls?: Record<string, string>,
    ): Record<string, string | undefined> => {
      const urls: Record<string, string> = {};
      for (const upstream of plan.upstreams) {
        const url = services.get(upstream)?.url ?? '';
        const route = { caller: { service: name, index }, upstream, url };
        urls[envName(upstream)] = sidecarUrls?.[upstream] ?? options.upstreamUrl?.(route) ?? url;
      }
      return {
        ...baseEnv,
        ...messagingEnv(config),
        ...tracingEnv(config.telemetry?.traces, name, telemetryStore?.url),
        ...plan.env,
        ...urls,
        PORT: String(port),
        SLUICE_SERVICE: name,
        SLUICE_INSTANCE: String(index),
      };
    };
    services.set(name, new Service({ plan, host, env, sink, logger, metrics, sidecars }));
    for (let i = 0; i < plan.instances; i++) {
      sink.reserve(`${name}.${i}`);
      if (sidecars !== undefined) sink.reserve(`${name}-sidecar.${i}`);
    }
  }

  const lifecycle = new Lifecycle({
    rollbackTimeout: options.rollbackTimeout,
    onEvent: (event) => logEvent(logger, event),
  });
  const telemetry = config.telemetry?.metrics;
  const metricsServer =
    telemetry === undefined || telemetry.enabled === false
      ? undefined
      : new MetricsServer({
          host,
          port: telemetry.port ?? defaultMetricsPort,
          path: telemetry.path,
          registry: options.registry,
        });
  const controlServer =
    config.control === undefined
      ? undefined
      : new ControlServer({
          port: config.control.port,
          system: {
            status: () => statusOf(services),
            kill: (service, index) => services.get(service)?.killInstance(index),
          },
        });
  const traces = config.telemetry?.traces;
  if (telemetryStore !== undefined) {
    lifecycle.add(telemetryStore, new TracingComponent(traces ?? {}, () => telemetryStore.url));
  } else if (traces !== undefined) {
    lifecycle.add(new TracingComponent(traces));
  }
  // First up and last down, so restarts during start and stop are visible.
  if (metricsServer !== undefined) lifecycle.add(metricsServer);
  if (controlServer !== undefined) lifecycle.add(controlServer);
  // Before every sidecar, after every one has stopped.
  if (mesh !== undefined) lifecycle.add(mesh);
  for (const level of startLevels(declared)) {
    const members = level.map((name) => services.get(name)!);
    lifecycle.add(new ServiceLevel(members, { rollbackTimeout: options.rollbackTimeout }));
  }
  lifecycle.add(...(options.components?.(view) ?? []));

  const kill = (): void => {
    for (const service of services.values()) service.kill();
  };
  // Instances live in their own process groups: never leave them behind.
  process.once('exit', kill);

  // Every fixed port is checked before anything starts: a taken one fails the start whole.
  const ready = checkPorts(declaredPorts(config, host)).then(() => lifecycle.start());
  ready.catch(() => process.off('exit', kill));

  return {
    ...view,
    get instances() {
      return view.instances;
    },
    get sidecars() {
      return view.sidecars;
    },
    get metricsUrl() {
      return metricsServer?.url;
    },
    get controlUrl() {
      return controlServer?.url;
    },
    get telemetryUrl() {
      return telemetryStore?.url;
    },
    get meshControlUrl() {
      return mesh?.plane?.url;
    },
    reloadMeshPolicies: async (next) => {
      await mesh?.plane?.registry.setPolicies(policiesOf(next));
    },
    get telemetry() {
      return telemetryStore?.store;
    },
    status: () => statusOf(services),
    killInstance: (service, index) => services.get(service)?.killInstance(index),
    ready,
    lifecycle,
    logger,
    kill,
    stop: async (stopOptions = {}) => {
      try {
        const report = await lifecycle.stop(stopOptions);
        // A level still stopping at the deadline is reported and left behind by the lifecycle,
        // but each of its processes has had its SIGKILL by then: wait for them to be gone.
        await Promise.all([...services.values()].map((s) => s.exited()));
        return report;
      } finally {
        process.off('exit', kill);
      }
    },
  };
}

/** The control plane of `mesh`: its registry and CA kept under the file's folder by default. */
function meshControlOf(config: SluiceConfig, cwd: string, logger: Logger): MeshControlComponent {
  const mesh = config.mesh ?? {};
  const store = mesh.store ?? 'data/mesh.db';
  return new MeshControlComponent({
    port: mesh.port ?? 0,
    store: /^[a-z][a-z0-9+.-]*:\/\//i.test(store) ? store : resolve(cwd, store),
    ...(mesh.storePrefix === undefined ? {} : { storePrefix: mesh.storePrefix }),
    trustDomain: mesh.trustDomain ?? 'sluice.local',
    caDir: resolve(cwd, mesh.caDir ?? 'data/mesh-ca'),
    policies: policiesOf(config),
    // A sidecar restarted within a day of the start gets its identity with the same token.
    tokenTtlMs: 24 * 3_600_000,
    logger: logger.child({ component: 'mesh-control' }),
  });
}

function statusOf(services: Map<string, Service>): SystemStatus {
  const status: SystemStatus = { services: {} };
  for (const [name, service] of services) {
    const { url, restartPolicy: restart, instances } = service;
    status.services[name] = { url, restart, instances };
  }
  return status;
}

/** Lets services reach the same messaging engine as the file declares. */
function messagingEnv(config: SluiceConfig): Record<string, string> {
  const messaging = config.messaging;
  if (messaging === undefined) return {};
  return {
    SLUICE_MESSAGING_DRIVER: messaging.driver,
    ...(messaging.url === undefined ? {} : { SLUICE_MESSAGING_URL: messaging.url }),
    ...(messaging.prefix === undefined ? {} : { SLUICE_MESSAGING_PREFIX: messaging.prefix }),
  };
}

function logEvent(logger: Logger, event: LifecycleEvent): void {
  switch (event.type) {
    case 'starting':
      logger.info(`starting ${event.name}`);
      break;
    case 'start-failed':
      logger.error(`${event.name} failed to start: ${errorMessage(event.error)}`);
      break;
    case 'stop-failed':
      logger.error(`${event.name} failed to stop: ${errorMessage(event.error)}`);
      break;
    case 'overran':
      logger.warn(`${event.name} was still stopping at the drain deadline`);
      break;
    case 'stopped':
      logger.info(`stopped ${event.name}`);
      break;
    default:
      break;
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
