import { createHash } from 'node:crypto';
import { type Clock, systemClock } from '../../core/clock.js';
import { InvalidArgumentError } from '../../core/errors.js';
import type { MeshEndpoint } from '../contract.js';
import { assertServiceName } from '../spiffe.js';
import type { RegistryStore } from './store.js';

export interface EndpointsSnapshot {
  /** Changes whenever the set does; the same set has the same version in every process. */
  version: string;
  endpoints: MeshEndpoint[];
}

export interface PolicySnapshot {
  version: string;
  /** The service's policies as sluice.yaml gives them; null when it has none. */
  policy: unknown;
}

export interface RegistryOptions {
  /** How long a registration lives without a heartbeat (default 15 s). */
  ttlMs?: number;
  /** How often this process deletes expired registrations (default ttl / 3, at most 5 s). */
  sweepIntervalMs?: number;
  clock?: Clock;
  /** Told of a store failure in the background (sweeps, refreshes of watched services). */
  onError?: (error: unknown) => void;
}

interface Watched {
  endpoints: EndpointsSnapshot | undefined;
  policy: PolicySnapshot | undefined;
  endpointListeners: Set<(snapshot: EndpointsSnapshot) => void>;
  policyListeners: Set<(snapshot: PolicySnapshot) => void>;
  refreshing: Promise<void> | undefined;
  again: boolean;
}

const INSTANCE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const ADDRESS = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]{1,253}):(\d{1,5})$/;
const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/;
const MAX_LABELS = 32;

/**
 * The registry of instances over a shared store: registrations live `ttlMs` past their
 * last heartbeat, and watchers hear of every change any process on the store makes.
 */
export class Registry {
  readonly ttlMs: number;
  readonly #store: RegistryStore;
  readonly #clock: Clock;
  readonly #onError: (error: unknown) => void;
  readonly #watched = new Map<string, Watched>();
  readonly #sweep: NodeJS.Timeout;
  readonly #unsubscribe: () => void;

  constructor(store: RegistryStore, options: RegistryOptions = {}) {
    this.ttlMs = options.ttlMs ?? 15_000;
    if (!(this.ttlMs >= 100))
      throw new InvalidArgumentError('the registration TTL must be >= 100 ms');
    this.#store = store;
    this.#clock = options.clock ?? systemClock;
    this.#onError = options.onError ?? (() => {});
    const every = options.sweepIntervalMs ?? Math.min(Math.ceil(this.ttlMs / 3), 5000);
    this.#sweep = setInterval(() => {
      store.sweep(this.#clock.now()).catch(this.#onError);
    }, every).unref();
    this.#unsubscribe = store.onChange((service) => {
      if (service === '*') for (const name of this.#watched.keys()) this.#refresh(name);
      else if (this.#watched.has(service)) this.#refresh(service);
    });
  }

  async register(endpoint: MeshEndpoint): Promise<void> {
    await this.#store.put(checkEndpoint(endpoint), this.#clock.now() + this.ttlMs);
  }

  /** Extends a registration; false when the registry no longer holds it (register again). */
  heartbeat(service: string, instance: string): Promise<boolean> {
    const now = this.#clock.now();
    return this.#store.touch(service, instance, now + this.ttlMs, now);
  }

  deregister(service: string, instance: string): Promise<void> {
    return this.#store.remove(service, instance);
  }

  async endpoints(service: string): Promise<EndpointsSnapshot> {
    const known = this.#watched.get(service)?.endpoints;
    if (known !== undefined) return known;
    return snapshotEndpoints(await this.#store.list(service, this.#clock.now()));
  }

  async policy(service: string): Promise<PolicySnapshot> {
    const known = this.#watched.get(service)?.policy;
    if (known !== undefined) return known;
    return snapshotPolicy(await this.#store.getPolicy(service));
  }

  /** Replaces the policies of the named services (null removes one), announcing changes. */
  async setPolicies(policies: Readonly<Record<string, unknown>>): Promise<void> {
    for (const [service, policy] of Object.entries(policies)) {
      assertServiceName(service);
      const text = policy === null || policy === undefined ? undefined : JSON.stringify(policy);
      if ((await this.#store.getPolicy(service)) !== text)
        await this.#store.putPolicy(service, text);
    }
  }

  /** Calls `listener` with the service's instances once known, then on every change. */
  watchEndpoints(service: string, listener: (snapshot: EndpointsSnapshot) => void): () => void {
    const watched = this.#watch(service);
    watched.endpointListeners.add(listener);
    if (watched.endpoints !== undefined) listener(watched.endpoints);
    return () => {
      watched.endpointListeners.delete(listener);
      this.#unwatch(service, watched);
    };
  }

  watchPolicy(service: string, listener: (snapshot: PolicySnapshot) => void): () => void {
    const watched = this.#watch(service);
    watched.policyListeners.add(listener);
    if (watched.policy !== undefined) listener(watched.policy);
    return () => {
      watched.policyListeners.delete(listener);
      this.#unwatch(service, watched);
    };
  }

  close(): void {
    clearInterval(this.#sweep);
    this.#unsubscribe();
    this.#watched.clear();
  }

  #watch(service: string): Watched {
    let watched = this.#watched.get(service);
    if (watched === undefined) {
      watched = {
        endpoints: undefined,
        policy: undefined,
        endpointListeners: new Set(),
        policyListeners: new Set(),
        refreshing: undefined,
        again: false,
      };
      this.#watched.set(service, watched);
      this.#refresh(service);
    }
    return watched;
  }

  #unwatch(service: string, watched: Watched): void {
    if (watched.endpointListeners.size + watched.policyListeners.size > 0) return;
    if (this.#watched.get(service) === watched) this.#watched.delete(service);
  }

  /** Reads the service again; refreshes asked for meanwhile fold into one more read. */
  #refresh(service: string): void {
    const watched = this.#watched.get(service);
    if (watched === undefined) return;
    if (watched.refreshing !== undefined) {
      watched.again = true;
      return;
    }
    watched.refreshing = this.#read(service, watched)
      .catch(this.#onError)
      .finally(() => {
        watched.refreshing = undefined;
        if (watched.again) {
          watched.again = false;
          this.#refresh(service);
        }
      });
  }

  async #read(service: string, watched: Watched): Promise<void> {
    const [list, policyText] = await Promise.all([
      this.#store.list(service, this.#clock.now()),
      this.#store.getPolicy(service),
    ]);
    const endpoints = snapshotEndpoints(list);
    if (endpoints.version !== watched.endpoints?.version) {
      watched.endpoints = endpoints;
      for (const listener of [...watched.endpointListeners]) listener(endpoints);
    }
    const policy = snapshotPolicy(policyText);
    if (policy.version !== watched.policy?.version) {
      watched.policy = policy;
      for (const listener of [...watched.policyListeners]) listener(policy);
    }
  }
}

function versionOf(text: string): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, 16);
}

function snapshotEndpoints(endpoints: MeshEndpoint[]): EndpointsSnapshot {
  return { version: versionOf(JSON.stringify(endpoints)), endpoints };
}

function snapshotPolicy(text: string | undefined): PolicySnapshot {
  return {
    version: versionOf(text ?? 'null'),
    policy: text === undefined ? null : JSON.parse(text),
  };
}

/** The endpoint as the registry keeps it, or InvalidArgumentError naming what is wrong. */
export function checkEndpoint(value: unknown): MeshEndpoint {
  if (typeof value !== 'object' || value === null) {
    throw new InvalidArgumentError('an endpoint is an object { service, instance, address, ... }');
  }
  const {
    service,
    instance,
    address,
    labels = {},
    healthy = true,
  } = value as Record<string, unknown>;
  if (typeof service !== 'string') throw new InvalidArgumentError('service must be a string');
  assertServiceName(service);
  if (typeof instance !== 'string' || !INSTANCE.test(instance)) {
    throw new InvalidArgumentError('instance must be 1-128 letters, digits, ".", "_" or "-"');
  }
  const match = typeof address === 'string' ? ADDRESS.exec(address) : null;
  if (match === null || Number(match[2]) < 1 || Number(match[2]) > 65535) {
    throw new InvalidArgumentError('address must be host:port, e.g. 10.0.0.7:7001');
  }
  if (typeof healthy !== 'boolean') throw new InvalidArgumentError('healthy must be a boolean');
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) {
    throw new InvalidArgumentError('labels must be an object of strings');
  }
  const entries = Object.entries(labels);
  if (entries.length > MAX_LABELS) throw new InvalidArgumentError(`at most ${MAX_LABELS} labels`);
  for (const [key, label] of entries) {
    if (!LABEL_KEY.test(key) || typeof label !== 'string' || label.length > 256) {
      throw new InvalidArgumentError(`label "${key}" must be a short name with a string value`);
    }
  }
  const sorted = Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : 1))) as Record<
    string,
    string
  >;
  return { service, instance, address: address as string, labels: sorted, healthy };
}
