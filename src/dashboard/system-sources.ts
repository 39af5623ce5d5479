import { mkdirSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { InvalidArgumentError } from '../core/index.js';
import { type Broker, type ConnectOptions, connect } from '../messaging/index.js';
import { TelemetryStore } from '../observe/store/index.js';
import type { SluiceConfig } from '../runtime/config/index.js';
import { fetchSystemStatus, killInstance } from '../runtime/control-client.js';
import type { KilledInstance, SystemStatus } from '../runtime/control-server.js';
import type { System } from '../runtime/system.js';
import type { DashboardSources } from './sources.js';

/** How the dashboard reaches the file's messaging engine, as the services do. */
export function connectOptionsOf(config: SluiceConfig, cwd: string): ConnectOptions | undefined {
  const messaging = config.messaging;
  if (messaging === undefined) return undefined;
  const { driver, url, prefix } = messaging;
  if (driver === 'memory') return undefined; // each process has its own: nothing to see
  if (url === undefined) throw new InvalidArgumentError(`messaging.url is needed for ${driver}`);
  if (driver === 'sqlite') {
    const file = url === ':memory:' || isAbsolute(url) ? url : resolve(cwd, url);
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    return { driver, url: file };
  }
  if (driver === 'postgres')
    return { driver, url, ...(prefix === undefined ? {} : { schema: prefix }) };
  return { driver, url, ...(prefix === undefined ? {} : { prefix }) };
}

/** Opens the broker on first use and keeps it; `close` closes it when it was opened. */
export function lazyBroker(options: ConnectOptions | undefined): {
  get: () => Promise<Broker | undefined>;
  close: () => Promise<void>;
} {
  let opening: Promise<Broker> | undefined;
  return {
    get: () => {
      if (options === undefined) return Promise.resolve(undefined);
      opening ??= connect(options);
      opening.catch(() => {
        opening = undefined;
      });
      return opening;
    },
    close: async () => {
      const broker = await opening?.catch(() => undefined);
      opening = undefined;
      await broker?.close();
    },
  };
}

/** The sources of `sluice up`: the supervisor's own store, status and instances. */
export function systemSources(
  system: System,
  broker: () => Promise<Broker | undefined>,
): DashboardSources {
  return {
    config: system.config,
    telemetry: () => system.telemetry,
    status: async () => system.status(),
    kill: async (service, index) => {
      const status = system.status();
      const declared = Object.hasOwn(status.services, service)
        ? status.services[service]
        : undefined;
      if (declared === undefined) throw new InvalidArgumentError(`No service "${service}"`);
      const pid = system.killInstance(service, index);
      if (pid === undefined)
        throw new InvalidArgumentError(`${service}.${index} has no process to kill`);
      return { service, index, pid, restart: declared.restart };
    },
    broker,
  };
}

export interface RemoteSourcesOptions {
  config: SluiceConfig;
  /** The store's SQLite file, as the supervisor writes it; undefined when it is off. */
  storePath: string | undefined;
  /** The supervisor's control API; undefined when the file declares none. */
  controlUrl: string | undefined;
  broker: () => Promise<Broker | undefined>;
}

/** The sources of `sluice dashboard` beside a running `sluice up`: its files and its APIs. */
export function remoteSources(options: RemoteSourcesOptions): DashboardSources & { close(): void } {
  const store =
    options.storePath === undefined ? undefined : new TelemetryStore({ path: options.storePath });
  const { controlUrl } = options;
  return {
    config: options.config,
    telemetry: () => store,
    status: async (): Promise<SystemStatus | undefined> =>
      controlUrl === undefined ? undefined : fetchSystemStatus(controlUrl).catch(() => undefined),
    kill: async (service, index): Promise<KilledInstance> => {
      if (controlUrl === undefined) {
        throw new InvalidArgumentError(
          'The file declares no control API: add control: { port: 9465 }',
        );
      }
      return killInstance(controlUrl, service, index);
    },
    broker: options.broker,
    close: () => store?.close(),
  };
}
