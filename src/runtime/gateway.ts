import type { Component } from '../core/index.js';
import type { GatewayConfig } from '../gateway/config.js';
import { Gateway, type GatewayOptions } from '../gateway/index.js';

/** The gateway as one of the system's components: started after the services, stopped first. */
export class GatewayComponent implements Component {
  readonly name = 'gateway';
  readonly #config: GatewayConfig;
  readonly #options: GatewayOptions;
  #gateway: Gateway | undefined;

  constructor(config: GatewayConfig, options: GatewayOptions = {}) {
    this.#config = config;
    this.#options = options;
  }

  /** Where the gateway listens, once started. */
  get url(): string | undefined {
    return this.#gateway?.url;
  }

  async start(): Promise<void> {
    this.#gateway = await Gateway.start(this.#config, this.#options);
  }

  async stop(): Promise<void> {
    const gateway = this.#gateway;
    this.#gateway = undefined;
    await gateway?.close();
  }
}
