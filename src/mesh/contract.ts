// The seam between the mesh's control plane (registry, CA) and its data plane (sidecar).
// Both halves are built against these shapes; change them together.

/** One instance of a service as the registry knows it: where its sidecar accepts mTLS. */
export interface MeshEndpoint {
  readonly service: string;
  /** Unique within the service, stable across restarts of the same slot (e.g. `payment-0`). */
  readonly instance: string;
  /** host:port of the instance's sidecar inbound listener (mTLS). */
  readonly address: string;
  /** Version and other labels; traffic splits select on `version`. */
  readonly labels: Readonly<Record<string, string>>;
  readonly healthy: boolean;
}

/** What a sidecar holds to speak mTLS: its X.509-SVID, key and the trust bundle. */
export interface WorkloadIdentity {
  /** `spiffe://<trust-domain>/svc/<service>` */
  readonly spiffeId: string;
  /** PEM, PKCS#8, ECDSA P-256; never leaves the sidecar. */
  readonly keyPem: string;
  /** PEM chain, leaf first, then the issuer (intermediate). */
  readonly certPem: string;
  /** PEM of every trusted root (two during anchor rotation). */
  readonly trustBundlePem: string;
  readonly notAfter: Date;
}

/** The data plane's view of the control plane; a sidecar works on its last known state when it is unreachable. */
export interface MeshControl {
  /** The current identity; renewed in the background before it expires. */
  identity(): WorkloadIdentity;
  /** Called with each renewed identity (and a new trust bundle on anchor rotation). */
  onIdentity(listener: (identity: WorkloadIdentity) => void): () => void;
  /** Streams the endpoints of a service: called at once with the known set, then on every change. */
  watch(service: string, listener: (endpoints: readonly MeshEndpoint[]) => void): () => void;
  /**
   * Streams a service's policy, the opaque JSON `{ policies, authorization }` of
   * `services.<name>` (null when it has none): called with the current one, then on every
   * change. The sidecar validates it and keeps its old policy when it is bad. Optional:
   * without it the sidecar applies the policy it was started with.
   */
  watchPolicy?(service: string, listener: (policy: unknown) => void): () => void;
  register(endpoint: MeshEndpoint): Promise<void>;
  deregister(service: string, instance: string): Promise<void>;
  close(): Promise<void>;
}
