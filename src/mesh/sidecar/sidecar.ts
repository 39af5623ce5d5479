import type { Server } from 'node:net';
import type { Registry } from 'prom-client';
import { Countdown, checkTimeout } from '../../core/deadline.js';
import { ConfigError } from '../../core/errors.js';
import { listen } from '../../core/listen.js';
import { sleep } from '../../core/signals.js';
import { metricsRegistry } from '../../observe/registry.js';
import { Authorizer } from '../authorization.js';
import type { MeshControl, WorkloadIdentity } from '../contract.js';
import { MeshError } from '../errors.js';
import { compileSidecarPolicy, type SidecarPolicy } from '../policy.js';
import { serviceSpiffeId } from '../spiffe.js';
import { createAdmin } from './admin.js';
import { createInbound, type Inbound } from './inbound.js';
import { meshMetrics } from './metrics.js';
import { createOutbound, type Outbound } from './outbound.js';
import { IdentityHolder, secureContextOptions, trustDomainOf } from './tls.js';
import { MeshUpstream } from './upstream.js';

export interface SidecarUpstream {
  name: string;
  /** Loopback port the app calls this upstream at; 0 takes any free port. */
  port: number;
}

export interface SidecarOptions {
  service: string;
  control: MeshControl;
  /** The app's port on loopback. */
  appPort: number;
  appHost?: string;
  /** The public mTLS address: host and port (0 for any). */
  listen: { host: string; port: number };
  /** host:port other sidecars reach us at; default the listen address. */
  advertise?: string;
  /** Registered instance name; default `<service>-<port>`. */
  instance?: string;
  labels?: Record<string, string>;
  upstreams?: readonly SidecarUpstream[];
  /** Admin address (`/ready`, `/healthz`, `/metrics`); default 127.0.0.1, any port. */
  admin?: { host: string; port: number };
  /** The `{ policies, authorization }` JSON to start with; the control plane's replaces it. */
  policy?: unknown;
  /** How long in-flight requests may finish on stop; default 10 s. */
  drainTimeoutMs?: number;
  /** How long to wait for a first identity; default 30 s. */
  identityTimeoutMs?: number;
  registry?: Registry;
  /** Balancing and split randomness; replace it in tests. */
  random?: () => number;
  /** Monotonic milliseconds for latency estimates and ejections; replace it in tests. */
  now?: () => number;
  /** Told when a policy from the control plane is refused (the old one stays). */
  onPolicyError?: (error: ConfigError) => void;
}

export interface SidecarAddresses {
  inbound: number;
  admin: number;
  upstreams: Record<string, number>;
}

/**
 * One sidecar: the inbound mTLS side in front of the app, a loopback listener per upstream,
 * the admin port. Ready once it holds an identity and every listener is up; on stop it
 * deregisters, stops accepting, lets in-flight requests finish, then closes.
 */
export class Sidecar {
  readonly #options: SidecarOptions;
  readonly #registry: Registry;
  readonly #metrics;
  #policy: SidecarPolicy;
  #authorizer: Authorizer;
  #holder: IdentityHolder | undefined;
  #inbound: Inbound | undefined;
  #outbound: Outbound[] = [];
  #upstreams = new Map<string, MeshUpstream>();
  #admin: Server | undefined;
  #unsubscribe: (() => void)[] = [];
  #ready = false;
  #stopping = false;
  #addresses: SidecarAddresses | undefined;
  #instance = '';

  constructor(options: SidecarOptions) {
    // Refused here rather than half-way through stop().
    if (options.drainTimeoutMs !== undefined) checkTimeout(options.drainTimeoutMs);
    this.#options = options;
    this.#registry = options.registry ?? metricsRegistry();
    this.#metrics = meshMetrics(this.#registry);
    this.#policy = compileSidecarPolicy(options.policy ?? {});
    this.#authorizer = new Authorizer(this.#policy.authorization);
  }

  get ready(): boolean {
    return this.#ready;
  }

  get addresses(): SidecarAddresses {
    if (this.#addresses === undefined)
      throw new MeshError('SLUICE_MESH_NO_IDENTITY', 'not started');
    return this.#addresses;
  }

  get identity(): WorkloadIdentity | undefined {
    return this.#holder?.identity;
  }

  /**
   * Validates `json` and swaps it in whole; a bad policy throws a ConfigError listing every
   * problem and the sidecar keeps the policy it had.
   */
  setPolicy(json: unknown): void {
    const policy = compileSidecarPolicy(json);
    const authorizer = new Authorizer(policy.authorization);
    this.#policy = policy;
    this.#authorizer = authorizer;
    for (const upstream of this.#upstreams.values())
      upstream.setPolicy(policy.upstream(upstream.name));
  }

  async start(): Promise<SidecarAddresses> {
    const o = this.#options;
    const control = o.control;
    const admin = createAdmin(
      { ready: () => this.#ready, live: () => !this.#stopping },
      this.#registry,
    );
    this.#admin = admin;
    const adminPort = await listen(admin, o.admin?.port ?? 0, o.admin?.host ?? '127.0.0.1');

    const identity = await this.#firstIdentity();
    const holder = new IdentityHolder(identity);
    this.#holder = holder;
    const trustDomain = trustDomainOf(identity);
    const expected = serviceSpiffeId(trustDomain, o.service);
    if (identity.spiffeId !== expected) {
      throw new MeshError(
        'SLUICE_MESH_NO_IDENTITY',
        `the control plane gave ${identity.spiffeId}, expected ${expected}`,
      );
    }

    if (control.watchPolicy) {
      this.#unsubscribe.push(
        control.watchPolicy(o.service, (json) => {
          try {
            // None on the control plane: the policy the sidecar was started with.
            this.setPolicy(json ?? o.policy ?? {});
          } catch (error) {
            if (error instanceof ConfigError) o.onPolicyError?.(error);
            else throw error;
          }
        }),
      );
    }

    const draining = (): boolean => this.#stopping;
    const inbound = createInbound({
      service: o.service,
      holder,
      trustDomain,
      appHost: o.appHost ?? '127.0.0.1',
      appPort: o.appPort,
      authorizer: () => this.#authorizer,
      metrics: this.#metrics,
      draining,
    });
    this.#inbound = inbound;
    const inboundPort = await listen(inbound.server, o.listen.port, o.listen.host);

    const ports: Record<string, number> = {};
    for (const { name, port } of o.upstreams ?? []) {
      const upstream = new MeshUpstream(name, this.#policy.upstream(name), {
        holder,
        trustDomain,
        metrics: this.#metrics,
        ...(o.random === undefined ? {} : { random: o.random }),
        ...(o.now === undefined ? {} : { now: o.now }),
      });
      this.#upstreams.set(name, upstream);
      this.#unsubscribe.push(control.watch(name, (endpoints) => upstream.update(endpoints)));
      const outbound = createOutbound(upstream, this.#metrics, draining);
      this.#outbound.push(outbound);
      ports[name] = await listen(outbound.server, port, '127.0.0.1');
    }

    // Renewal: new connections present the new certificate; open ones finish on the old.
    this.#unsubscribe.push(
      control.onIdentity((next) => {
        try {
          holder.replace(next);
          inbound.server.setSecureContext(secureContextOptions(next));
        } catch {
          // A renewal that does not load leaves the current identity in place.
        }
      }),
    );

    this.#addresses = { inbound: inboundPort, admin: adminPort, upstreams: ports };
    this.#instance = o.instance ?? `${o.service}-${inboundPort}`;
    await control.register({
      service: o.service,
      instance: this.#instance,
      address: o.advertise ?? `${o.listen.host}:${inboundPort}`,
      labels: o.labels ?? {},
      healthy: true,
    });
    this.#ready = true;
    return this.#addresses;
  }

  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#ready = false;
    const o = this.#options;
    if (this.#addresses !== undefined) {
      await o.control.deregister(o.service, this.#instance).catch(() => {});
    }
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    this.#unsubscribe = [];
    const servers = [this.#inbound?.server, ...this.#outbound.map((o) => o.server)].filter(
      (s) => s !== undefined,
    );
    const closed = servers.map(
      (server) => new Promise<void>((resolve) => server.close(() => resolve())),
    );
    for (const server of servers) server.closeIdleConnections();
    const active = (): number =>
      (this.#inbound?.active() ?? 0) + this.#outbound.reduce((n, o) => n + o.active(), 0);
    const drain = Countdown.after(o.drainTimeoutMs ?? 10_000);
    while (active() > 0 && !drain.expired) {
      await sleep(20);
      for (const server of servers) server.closeIdleConnections();
    }
    for (const server of servers) server.closeAllConnections();
    await Promise.all(closed);
    await Promise.all([...this.#upstreams.values()].map((u) => u.close()));
    await this.#inbound?.app.close().catch(() => {});
    const admin = this.#admin;
    if (admin) await new Promise<void>((resolve) => admin.close(() => resolve()));
  }

  async #firstIdentity(): Promise<WorkloadIdentity> {
    const control = this.#options.control;
    try {
      return control.identity();
    } catch {
      // Not issued yet: wait for the first one.
    }
    const timeoutMs = this.#options.identityTimeoutMs ?? 30_000;
    let off = (): void => {};
    try {
      return await new Promise<WorkloadIdentity>((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new MeshError('SLUICE_MESH_NO_IDENTITY', `no identity within ${timeoutMs} ms`));
        }, timeoutMs);
        off = control.onIdentity((identity) => {
          clearTimeout(timer);
          resolve(identity);
        });
      });
    } finally {
      off();
    }
  }
}
