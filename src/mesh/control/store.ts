import type { MeshEndpoint } from '../contract.js';

/**
 * Where the registry keeps its state: an engine several control-plane processes share, so
 * none of them is special and a registration made through one is seen by all. Times are
 * Unix milliseconds from the caller's clock; an entry whose `expiresAt` has passed is gone
 * for `list` at once and removed by whichever process sweeps first.
 */
export interface RegistryStore {
  /** Inserts or replaces an instance, live until `expiresAt`. */
  put(endpoint: MeshEndpoint, expiresAt: number): Promise<void>;
  /** Moves a live instance's expiry; false when it is unknown or expired already. */
  touch(service: string, instance: string, expiresAt: number, now: number): Promise<boolean>;
  remove(service: string, instance: string): Promise<void>;
  /** The service's live instances, ordered by instance. */
  list(service: string, now: number): Promise<MeshEndpoint[]>;
  /** Deletes every expired instance and announces the services that lost one. */
  sweep(now: number): Promise<void>;
  /** Replaces a service's policy document (JSON text); `undefined` deletes it. */
  putPolicy(service: string, policy: string | undefined): Promise<void>;
  getPolicy(service: string): Promise<string | undefined>;
  /**
   * Calls `listener` with the name of a service whose instances or policy may have changed,
   * by any process on this engine; `'*'` when changes may have been missed (a reconnect).
   */
  onChange(listener: (service: string) => void): () => void;
  close(): Promise<void>;
}

/** The listeners of one store, called for each change it hears of. */
export class ChangeListeners {
  readonly #listeners = new Set<(service: string) => void>();

  add(listener: (service: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit(service: string): void {
    for (const listener of [...this.#listeners]) listener(service);
  }

  clear(): void {
    this.#listeners.clear();
  }
}

/** One instance as the stores serialise it. */
export function encodeEndpoint(endpoint: MeshEndpoint): string {
  const { service, instance, address, labels, healthy } = endpoint;
  return JSON.stringify({ service, instance, address, labels, healthy });
}

export function decodeEndpoint(text: string): MeshEndpoint {
  return JSON.parse(text) as MeshEndpoint;
}

export const byInstance = (a: MeshEndpoint, b: MeshEndpoint) =>
  a.instance < b.instance ? -1 : a.instance > b.instance ? 1 : 0;
