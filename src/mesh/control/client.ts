import { type Clock, systemClock } from '../../core/clock.js';
import { ClosedError } from '../../core/errors.js';
import type { MeshControl, MeshEndpoint, WorkloadIdentity } from '../contract.js';
import type { IssuedIdentity } from '../identity/authority.js';
import { createCsr } from '../identity/csr.js';
import { generateKeyPair, privateKeyPem } from '../identity/x509.js';
import { serviceSpiffeId } from '../spiffe.js';
import { callControl } from './control-call.js';
import type { EndpointsSnapshot, PolicySnapshot } from './registry.js';
import { WatchStream } from './watch-stream.js';

/** Sets and clears the client's timers; tests pass one they drive by hand. */
export interface Scheduler {
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: Scheduler = {
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface MeshControlClientOptions {
  /** The control plane, e.g. `http://127.0.0.1:7400`. */
  url: string;
  /** The bootstrap token the supervisor gave this instance. */
  token: string;
  service: string;
  trustDomain: string;
  clock?: Clock;
  scheduler?: Scheduler;
  /** Told of background failures (renewal, heartbeat, watch); work goes on with the last state. */
  onError?: (error: unknown) => void;
}

/** Renewal happens at this share of the remaining life (Linkerd's 70 %). */
export const RENEW_AT = 0.7;
const MIN_RENEW_MS = 1000;
const MAX_RENEW_MS = 24 * 3600_000;

/** When to renew an identity that expires at `notAfter`: 70 % of what remains, clamped. */
export function renewalDelay(notAfter: number, now: number): number {
  return Math.min(MAX_RENEW_MS, Math.max(MIN_RENEW_MS, Math.floor((notAfter - now) * RENEW_AT)));
}

interface Watch<T> {
  stream: WatchStream;
  last: T | undefined;
  listeners: Set<(value: T) => void>;
}

/**
 * The sidecar's side of the control plane: it creates the workload key (never sent), gets
 * an X.509-SVID for a CSR, renews it at 70 % of its remaining life, keeps registrations
 * alive, and streams endpoints and policies, going on with the last known state while the
 * control plane is away.
 */
export class MeshControlClient implements MeshControl {
  readonly #o: MeshControlClientOptions;
  readonly #clock: Clock;
  readonly #timers: Scheduler;
  readonly #keyPem: string;
  readonly #csr: string;
  readonly #identityListeners = new Set<(identity: WorkloadIdentity) => void>();
  readonly #endpointWatches = new Map<string, Watch<readonly MeshEndpoint[]>>();
  readonly #policyWatches = new Map<string, Watch<unknown>>();
  readonly #registered = new Map<string, { endpoint: MeshEndpoint; timer: unknown; ok: boolean }>();
  #identity!: WorkloadIdentity;
  #token: string;
  #renewTimer: unknown;
  /** The registration TTL the control plane last announced; 15 s until it has. */
  #ttlMs = 15_000;
  #closed = false;

  private constructor(options: MeshControlClientOptions, keyPem: string, csr: string) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#timers = options.scheduler ?? realTimers;
    this.#keyPem = keyPem;
    this.#csr = csr;
    this.#token = options.token;
  }

  /** Creates the key and CSR and gets the first identity; throws when that fails. */
  static async connect(options: MeshControlClientOptions): Promise<MeshControlClient> {
    const keys = await generateKeyPair();
    const spiffeId = serviceSpiffeId(options.trustDomain, options.service);
    const csr = await createCsr(keys, spiffeId);
    const client = new MeshControlClient(options, await privateKeyPem(keys.privateKey), csr);
    await client.#certify();
    return client;
  }

  identity(): WorkloadIdentity {
    return this.#identity;
  }

  onIdentity(listener: (identity: WorkloadIdentity) => void): () => void {
    this.#identityListeners.add(listener);
    return () => this.#identityListeners.delete(listener);
  }

  /** Renews now (the timer calls this at 70 % of the remaining life). */
  async renew(): Promise<void> {
    await this.#certify();
  }

  watch(service: string, listener: (endpoints: readonly MeshEndpoint[]) => void): () => void {
    return this.#subscribe(this.#endpointWatches, service, listener);
  }

  /** Streams the service's policies (opaque here; the sidecar reads them): null when none. */
  watchPolicy(service: string, listener: (policy: unknown) => void): () => void {
    return this.#subscribe(this.#policyWatches, service, listener);
  }

  async register(endpoint: MeshEndpoint): Promise<void> {
    const key = `${endpoint.service}/${endpoint.instance}`;
    const entry = this.#registered.get(key) ?? { endpoint, timer: undefined, ok: false };
    entry.endpoint = endpoint;
    this.#registered.set(key, entry);
    this.#timers.clearTimeout(entry.timer);
    try {
      this.#ttlMs = (await this.#put(endpoint)).ttlMs;
      entry.ok = true;
    } finally {
      // Also after a failure: the next beat registers it once the control plane answers.
      this.#heartbeat(key, this.#ttlMs);
    }
  }

  async deregister(service: string, instance: string): Promise<void> {
    const key = `${service}/${instance}`;
    const entry = this.#registered.get(key);
    if (entry !== undefined) this.#timers.clearTimeout(entry.timer);
    this.#registered.delete(key);
    await callControl(this.#o.url, 'DELETE', instancePath(service, instance), {
      token: this.#token,
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#timers.clearTimeout(this.#renewTimer);
    for (const entry of this.#registered.values()) this.#timers.clearTimeout(entry.timer);
    for (const watch of [...this.#endpointWatches.values(), ...this.#policyWatches.values()]) {
      watch.stream.close();
    }
    this.#endpointWatches.clear();
    this.#policyWatches.clear();
    const deregistrations = [...this.#registered.values()].map(({ endpoint }) =>
      callControl(this.#o.url, 'DELETE', instancePath(endpoint.service, endpoint.instance), {
        token: this.#token,
      }).catch(() => {}),
    );
    this.#registered.clear();
    await Promise.all(deregistrations);
  }

  async #certify(): Promise<void> {
    if (this.#closed) throw new ClosedError('the mesh client is closed');
    this.#timers.clearTimeout(this.#renewTimer);
    let issued: IssuedIdentity;
    try {
      issued = await callControl<IssuedIdentity>(this.#o.url, 'POST', '/v1/identity', {
        token: this.#token,
        body: { csr: this.#csr },
      });
    } catch (error) {
      // Keep the current identity and try again at 70 % of what is left of it.
      if (this.#identity !== undefined) this.#scheduleRenewal(this.#identity.notAfter.getTime());
      throw error;
    }
    this.#token = issued.token;
    this.#identity = {
      spiffeId: issued.spiffeId,
      keyPem: this.#keyPem,
      certPem: issued.certificate,
      trustBundlePem: issued.trustBundle,
      notAfter: new Date(issued.notAfter),
    };
    this.#scheduleRenewal(this.#identity.notAfter.getTime());
    this.#announceIdentity();
  }

  #scheduleRenewal(notAfter: number): void {
    if (this.#closed) return;
    const delay = renewalDelay(notAfter, this.#clock.now());
    this.#renewTimer = this.#timers.setTimeout(() => {
      this.#certify().catch((error: unknown) => this.#o.onError?.(error));
    }, delay);
  }

  #announceIdentity(): void {
    for (const listener of [...this.#identityListeners]) this.#call(listener, this.#identity);
  }

  /** A listener that throws is reported; it neither breaks the stream nor starves the others. */
  #call<T>(listener: (value: T) => void, value: T): void {
    try {
      listener(value);
    } catch (error) {
      this.#o.onError?.(error);
    }
  }

  #bundle(trustBundle: unknown): void {
    if (typeof trustBundle !== 'string' || trustBundle === this.#identity.trustBundlePem) return;
    this.#identity = { ...this.#identity, trustBundlePem: trustBundle };
    this.#announceIdentity();
  }

  #put(endpoint: MeshEndpoint): Promise<{ ttlMs: number }> {
    const { address, labels, healthy } = endpoint;
    return callControl(this.#o.url, 'PUT', instancePath(endpoint.service, endpoint.instance), {
      token: this.#token,
      body: { address, labels, healthy },
    });
  }

  /** Beats three times per TTL; registers again when the registry lost it or a beat failed. */
  #heartbeat(key: string, ttlMs: number): void {
    const entry = this.#registered.get(key);
    if (entry === undefined || this.#closed) return;
    entry.timer = this.#timers.setTimeout(
      async () => {
        const { service, instance } = entry.endpoint;
        try {
          if (!entry.ok) await this.#put(entry.endpoint);
          else {
            await callControl(this.#o.url, 'POST', `${instancePath(service, instance)}/heartbeat`, {
              token: this.#token,
            });
          }
          entry.ok = true;
        } catch (error) {
          entry.ok = false;
          this.#o.onError?.(error);
        }
        this.#heartbeat(key, ttlMs);
      },
      Math.max(50, Math.floor(ttlMs / 3)),
    );
  }

  #subscribe<T>(watches: Map<string, Watch<T>>, service: string, listener: (value: T) => void) {
    if (this.#closed) throw new ClosedError('the mesh client is closed');
    let watch = watches.get(service);
    if (watch === undefined) {
      watch = this.#open<T>(
        service,
        watches === (this.#policyWatches as unknown) ? 'policy' : 'endpoints',
      );
      watches.set(service, watch);
    }
    const current = watch;
    current.listeners.add(listener);
    if (current.last !== undefined) listener(current.last);
    return () => {
      current.listeners.delete(listener);
      if (current.listeners.size === 0 && watches.get(service) === current) {
        current.stream.close();
        watches.delete(service);
      }
    };
  }

  #open<T>(service: string, kind: 'endpoints' | 'policy'): Watch<T> {
    const watch: Watch<T> = { stream: undefined as never, last: undefined, listeners: new Set() };
    let version: string | undefined;
    watch.stream = new WatchStream({
      url: new URL(`/v1/services/${encodeURIComponent(service)}/watch`, this.#o.url).href,
      token: () => this.#token,
      onDisconnect: (error) => this.#o.onError?.(error),
      onEvent: (event, data) => {
        if (event === 'bundle')
          return this.#bundle((data as { trustBundle?: unknown }).trustBundle);
        if (event !== kind) return;
        const snapshot = data as EndpointsSnapshot | PolicySnapshot;
        // A reconnect repeats the current state: only a new version is news.
        if (snapshot.version === version) return;
        version = snapshot.version;
        const value = (
          kind === 'endpoints'
            ? (snapshot as EndpointsSnapshot).endpoints
            : (snapshot as PolicySnapshot).policy
        ) as T;
        watch.last = value;
        for (const listener of [...watch.listeners]) this.#call(listener, value);
      },
    });
    return watch;
  }
}

function instancePath(service: string, instance: string): string {
  return `/v1/services/${encodeURIComponent(service)}/instances/${encodeURIComponent(instance)}`;
}
