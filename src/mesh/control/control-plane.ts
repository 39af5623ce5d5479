import { createServer, type Server, type ServerResponse } from 'node:http';
import type { Clock } from '../../core/clock.js';
import { metricsHandler } from '../../observe/handler.js';
import { createLogger, type Logger } from '../../observe/logger.js';
import { metricsRegistry } from '../../observe/registry.js';
import { CertificateAuthority, type CertificateAuthorityOptions } from '../identity/authority.js';
import { watchCaExpiry } from '../identity/expiry.js';
import { controlApi } from './api.js';
import { openRegistryStore } from './open-store.js';
import { Registry } from './registry.js';
import type { RegistryStore } from './store.js';

export interface ControlPlaneOptions {
  /** Where the API listens (default 127.0.0.1, port 0: any free port). */
  host?: string;
  port?: number;
  /** A store URL (`./data/mesh.db`, `redis://…`, `postgres://…`) or an open store. */
  store: string | RegistryStore;
  /** Keeps this mesh's keys or tables apart on a shared engine (default `sluice`). */
  storePrefix?: string;
  trustDomain: string;
  caDir: string;
  caFiles?: CertificateAuthorityOptions['files'];
  leafTtlMs?: number;
  registrationTtlMs?: number;
  /** Each service's policies, served to its sidecars as given. */
  policies?: Record<string, unknown>;
  /** How often the CA files are read again to pick up a rotation (default 60 s). */
  caReloadIntervalMs?: number;
  logger?: Logger;
  clock?: Clock;
}

/**
 * One control-plane process: the CA, the registry over a shared store, and the HTTP API.
 * It keeps no state of its own; any number of them on one store serve the same mesh.
 */
export class ControlPlane {
  readonly ca: CertificateAuthority;
  readonly registry: Registry;
  readonly #store: RegistryStore;
  readonly #server: Server;
  readonly #bundleListeners = new Set<(bundle: string) => void>();
  readonly #streams = new Set<ServerResponse>();
  readonly #expiry: ReturnType<typeof watchCaExpiry>;
  readonly #caReload: NodeJS.Timeout;
  #url = '';

  private constructor(
    ca: CertificateAuthority,
    store: RegistryStore,
    options: ControlPlaneOptions,
    logger: Logger,
  ) {
    this.ca = ca;
    this.#store = store;
    this.registry = new Registry(store, {
      ...(options.registrationTtlMs === undefined ? {} : { ttlMs: options.registrationTtlMs }),
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      onError: (error) => logger.warn({ err: error }, 'the mesh registry store failed'),
    });
    this.#expiry = watchCaExpiry(ca, {
      logger,
      ...(options.clock ? { clock: options.clock } : {}),
    });
    const handler = controlApi({
      ca,
      registry: this.registry,
      streams: this.#streams,
      onBundle: (listener) => {
        this.#bundleListeners.add(listener);
        return () => this.#bundleListeners.delete(listener);
      },
      metrics: metricsHandler(metricsRegistry()),
    });
    // Picks up a rotation made by `sluice mesh rotate` or another control plane.
    this.#caReload = setInterval(() => {
      this.reloadCa().catch((error: unknown) =>
        logger.error({ err: error }, 'the mesh CA files no longer load; the loaded CA stays'),
      );
    }, options.caReloadIntervalMs ?? 60_000).unref();
    this.#server = createServer({ requestTimeout: 30_000 }, handler);
    this.#server.on('clientError', (_error, socket) => socket.destroy());
  }

  static async start(options: ControlPlaneOptions): Promise<ControlPlane> {
    const logger = options.logger ?? createLogger({ name: 'sluice-mesh-control' });
    const ca = await CertificateAuthority.open({
      dir: options.caDir,
      trustDomain: options.trustDomain,
      ...(options.caFiles === undefined ? {} : { files: options.caFiles }),
      ...(options.leafTtlMs === undefined ? {} : { leafTtlMs: options.leafTtlMs }),
      ...(options.clock === undefined ? {} : { clock: options.clock }),
    });
    const store =
      typeof options.store === 'string'
        ? await openRegistryStore(options.store, options.storePrefix)
        : options.store;
    const plane = new ControlPlane(ca, store, options, logger);
    try {
      if (options.policies !== undefined) await plane.registry.setPolicies(options.policies);
      await plane.#listen(options.host ?? '127.0.0.1', options.port ?? 0);
    } catch (error) {
      await plane.close();
      throw error;
    }
    logger.info({ url: plane.url, trustDomain: ca.trustDomain }, 'mesh control plane listening');
    return plane;
  }

  /** `http://host:port` of the API. */
  get url(): string {
    return this.#url;
  }

  /** Reads the CA files again (another process rotated the anchor); tells watchers of a new bundle. */
  async reloadCa(): Promise<void> {
    const before = this.ca.trustBundlePem;
    await this.ca.reload();
    this.#expiry.update();
    if (this.ca.trustBundlePem !== before) this.#announceBundle();
  }

  /** Rotates the anchor (see CertificateAuthority.rotateAnchor) and tells every watcher. */
  async rotateAnchor(): Promise<void> {
    await this.ca.rotateAnchor();
    this.#expiry.update();
    this.#announceBundle();
  }

  async close(): Promise<void> {
    clearInterval(this.#caReload);
    this.#expiry.stop();
    this.registry.close();
    // Watchers must hear that this control plane is gone and reconnect elsewhere.
    for (const stream of [...this.#streams]) stream.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await this.#store.close();
  }

  #announceBundle(): void {
    const bundle = this.ca.trustBundlePem;
    for (const listener of [...this.#bundleListeners]) listener(bundle);
  }

  #listen(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        const address = this.#server.address();
        const bound = typeof address === 'object' && address !== null ? address.port : port;
        this.#url = `http://${host.includes(':') ? `[${host}]` : host}:${bound}`;
        resolve();
      });
    });
  }
}
