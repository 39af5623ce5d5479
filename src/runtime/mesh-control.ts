import type { Component } from '../core/index.js';
import { ControlPlane, type ControlPlaneOptions } from '../mesh/control/control-plane.js';
import type { SidecarEnv } from '../mesh/control/sidecar-env.js';

export interface MeshControlComponentOptions extends Omit<ControlPlaneOptions, 'port' | 'host'> {
  /** Default 0: any free port on 127.0.0.1. */
  port?: number;
  host?: string;
  /**
   * Lifetime of the bootstrap token each sidecar is started with (default 15 min): a
   * sidecar restarted later than that cannot get an identity with it.
   */
  tokenTtlMs?: number;
}

/**
 * The control plane as one of the supervisor's components: started before any service,
 * stopped after all of them, handing each sidecar it starts a bootstrap token for its
 * own instance only.
 */
export class MeshControlComponent implements Component {
  readonly name = 'mesh-control';
  readonly #o: MeshControlComponentOptions;
  #plane: ControlPlane | undefined;

  constructor(options: MeshControlComponentOptions) {
    this.#o = options;
  }

  get plane(): ControlPlane | undefined {
    return this.#plane;
  }

  async start(): Promise<void> {
    this.#plane = await ControlPlane.start(this.#o);
  }

  async stop(): Promise<void> {
    const plane = this.#plane;
    this.#plane = undefined;
    await plane?.close();
  }

  /** The environment of the sidecar of one instance, with a fresh bootstrap token. */
  async sidecarEnv(service: string, instance: string): Promise<SidecarEnv> {
    const plane = this.#plane;
    if (plane === undefined) throw new Error('the mesh control plane is not running');
    const token = await plane.ca.tokens.bootstrap(service, {
      instance,
      ...(this.#o.tokenTtlMs === undefined ? {} : { ttlMs: this.#o.tokenTtlMs }),
    });
    return {
      SLUICE_MESH_CONTROL_URL: plane.url,
      SLUICE_MESH_TRUST_DOMAIN: plane.ca.trustDomain,
      SLUICE_MESH_SERVICE: service,
      SLUICE_MESH_INSTANCE: instance,
      SLUICE_MESH_TOKEN: token,
    };
  }
}
