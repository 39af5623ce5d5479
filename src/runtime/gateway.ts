import type { Component } from '../core/index.js';
import type { GatewayConfig } from '../gateway/config.js';
import { Gateway, type GatewayOptions } from '../gateway/index.js';

export interface GatewayComponentOptions extends Omit<GatewayOptions, 'load'> {
  /**
   * Where a route that names a service is sent: the URL the supervisor serves it at. The
   * system's `urlOf`; without it, routes reach only `gateway.upstreams` and URLs.
   */
  urlOf?: (service: string) => string | undefined;
  /** The `gateway:` section read again for `POST /reload` and `reload()`: the file. */
  load?: () => Promise<GatewayConfig>;
}

/** The gateway as one of the system's components: started after the services, stopped first. */
export class GatewayComponent implements Component {
  readonly name = 'gateway';
  readonly #config: GatewayConfig;
  readonly #options: GatewayComponentOptions;
  #gateway: Gateway | undefined;

  constructor(config: GatewayConfig, options: GatewayComponentOptions = {}) {
    this.#config = config;
    this.#options = options;
  }

  /** Where the gateway listens, once started. */
  get url(): string | undefined {
    return this.#gateway?.url;
  }

  /** Where its admin API listens, once started, when the file has `gateway.admin`. */
  get adminUrl(): string | undefined {
    return this.#gateway?.adminUrl;
  }

  /** The running gateway, once started. */
  get gateway(): Gateway | undefined {
    return this.#gateway;
  }

  async start(): Promise<void> {
    const { urlOf, load, ...options } = this.#options;
    const resolved = (config: GatewayConfig): GatewayConfig => withServices(config, urlOf);
    this.#gateway = await Gateway.start(resolved(this.#config), {
      ...options,
      ...(load === undefined ? {} : { load: async () => resolved(await load()) }),
    });
  }

  async stop(): Promise<void> {
    const gateway = this.#gateway;
    this.#gateway = undefined;
    await gateway?.close();
  }
}

/** Gives each route that names a service, not a declared upstream, that service's URL. */
function withServices(
  config: GatewayConfig,
  urlOf: GatewayComponentOptions['urlOf'],
): GatewayConfig {
  if (urlOf === undefined) return config;
  const upstreams = { ...config.upstreams };
  for (const { upstream } of config.routes) {
    if (Object.hasOwn(upstreams, upstream) || /^https?:\/\//.test(upstream)) continue;
    const url = urlOf(upstream);
    if (url !== undefined) upstreams[upstream] = { targets: [url] };
  }
  return { ...config, upstreams };
}
