import type { Component } from '../core/index.js';
import type { DashboardConfig, SluiceConfig } from '../runtime/config/index.js';
import type { System } from '../runtime/system.js';
import { DashboardServer, DEFAULT_DASHBOARD_PORT } from './server.js';
import { connectOptionsOf, lazyBroker, systemSources } from './system-sources.js';

export interface DashboardComponentOptions {
  /** The file's `dashboard` section, not `false`. */
  config: DashboardConfig;
  /** The running system; asked for at start, after every service is up. */
  system: () => System;
  /** The config file's folder: a relative SQLite `messaging.url` starts there. */
  cwd: string;
}

/**
 * The dashboard as a component of `sluice up`: started after the services, stopped before
 * them. On the default port, a port already taken moves it to a free one (it is printed);
 * a port the file chose must be free.
 */
export class DashboardComponent implements Component {
  readonly name = 'dashboard';
  readonly #o: DashboardComponentOptions;
  #server: DashboardServer | undefined;
  #closeBroker: (() => Promise<void>) | undefined;

  constructor(options: DashboardComponentOptions) {
    this.#o = options;
  }

  get url(): string | undefined {
    return this.#server?.url;
  }

  get token(): string | undefined {
    return this.#server?.token;
  }

  async start(): Promise<void> {
    const system = this.#o.system();
    const broker = lazyBroker(connectOptionsOf(system.config as SluiceConfig, this.#o.cwd));
    this.#closeBroker = broker.close;
    const sources = systemSources(system, broker.get);
    const { port, token } = this.#o.config;
    const make = (at: number) => new DashboardServer({ sources, port: at, token });
    let server = make(port ?? DEFAULT_DASHBOARD_PORT);
    try {
      await server.start();
    } catch (error) {
      if (port !== undefined || (error as { code?: string }).code !== 'EADDRINUSE') throw error;
      server = make(0);
      await server.start();
    }
    this.#server = server;
  }

  /** The token to print at start: the random one, not one the file gave. */
  get printedToken(): string | undefined {
    return this.#o.config.token === undefined ? this.token : undefined;
  }

  async stop(): Promise<void> {
    await this.#server?.stop();
    this.#server = undefined;
    await this.#closeBroker?.();
  }
}
