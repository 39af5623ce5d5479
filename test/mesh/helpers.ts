import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { MeshControl, MeshEndpoint, WorkloadIdentity } from '../../src/mesh/contract.js';

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: 'ignore' });
}

function newKey(file: string): void {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file]);
}

export interface TestMeshCa {
  dir: string;
  name: string;
  rootPem: string;
  /** The issuer (intermediate) that signs leaves. */
  issuerPem: string;
}

/** A root and an intermediate, as the control plane's CA has them. */
export function makeMeshCa(dir: string, name: string): TestMeshCa {
  const root = join(dir, `${name}-root`);
  const issuer = join(dir, `${name}-issuer`);
  newKey(`${root}.key`);
  openssl([
    'req',
    '-x509',
    '-key',
    `${root}.key`,
    '-days',
    '2',
    '-subj',
    `/CN=${name} root`,
    '-addext',
    'basicConstraints=critical,CA:true',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-out',
    `${root}.pem`,
  ]);
  newKey(`${issuer}.key`);
  openssl([
    'req',
    '-new',
    '-key',
    `${issuer}.key`,
    '-subj',
    `/CN=${name} issuer`,
    '-out',
    `${issuer}.csr`,
  ]);
  writeFileSync(
    `${issuer}.ext`,
    'basicConstraints=critical,CA:true,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n',
  );
  openssl([
    'x509',
    '-req',
    '-in',
    `${issuer}.csr`,
    '-CA',
    `${root}.pem`,
    '-CAkey',
    `${root}.key`,
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    `${issuer}.ext`,
    '-out',
    `${issuer}.pem`,
  ]);
  return {
    dir,
    name,
    rootPem: readFileSync(`${root}.pem`, 'utf8'),
    issuerPem: readFileSync(`${issuer}.pem`, 'utf8'),
  };
}

let serial = 0;

/**
 * An X.509-SVID from `ca` for the given URI SANs (one SPIFFE ID normally), valid `days`
 * (-1 makes one that has already expired).
 */
export function issueSvid(
  ca: TestMeshCa,
  uris: string[],
  options: { days?: number; trust?: string } = {},
): WorkloadIdentity {
  const base = join(ca.dir, `leaf-${process.pid}-${++serial}`);
  newKey(`${base}.key`);
  openssl(['req', '-new', '-key', `${base}.key`, '-subj', '/O=mesh', '-out', `${base}.csr`]);
  const san = uris.map((u) => `URI:${u}`).join(',');
  writeFileSync(
    `${base}.ext`,
    `basicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n${san ? `subjectAltName=critical,${san}\n` : ''}`,
  );
  const issuer = join(ca.dir, `${ca.name}-issuer`);
  openssl([
    'x509',
    '-req',
    '-in',
    `${base}.csr`,
    '-CA',
    `${issuer}.pem`,
    '-CAkey',
    `${issuer}.key`,
    '-CAcreateserial',
    '-days',
    String(options.days ?? 1),
    '-extfile',
    `${base}.ext`,
    '-out',
    `${base}.pem`,
  ]);
  const leaf = readFileSync(`${base}.pem`, 'utf8');
  return {
    spiffeId: uris[0] ?? '',
    keyPem: readFileSync(`${base}.key`, 'utf8'),
    certPem: leaf + ca.issuerPem,
    trustBundlePem: options.trust ?? ca.rootPem,
    notAfter: new Date(Date.now() + (options.days ?? 1) * 86_400_000),
  };
}

/** A MeshControl held in memory: a shared registry, identities handed in by the test. */
export class StubRegistry {
  readonly endpoints = new Map<string, MeshEndpoint>();
  readonly #watchers = new Map<string, Set<(e: readonly MeshEndpoint[]) => void>>();

  of(service: string): MeshEndpoint[] {
    return [...this.endpoints.values()].filter((e) => e.service === service);
  }

  put(endpoint: MeshEndpoint): void {
    this.endpoints.set(`${endpoint.service}/${endpoint.instance}`, endpoint);
    this.#notify(endpoint.service);
  }

  remove(service: string, instance: string): void {
    this.endpoints.delete(`${service}/${instance}`);
    this.#notify(service);
  }

  watch(service: string, listener: (e: readonly MeshEndpoint[]) => void): () => void {
    const set = this.#watchers.get(service) ?? new Set();
    this.#watchers.set(service, set);
    set.add(listener);
    listener(this.of(service));
    return () => set.delete(listener);
  }

  #notify(service: string): void {
    for (const listener of this.#watchers.get(service) ?? []) listener(this.of(service));
  }
}

export class StubControl implements MeshControl {
  #identity: WorkloadIdentity;
  readonly #listeners = new Set<(identity: WorkloadIdentity) => void>();
  readonly #policy = new Set<(policy: unknown) => void>();
  policy: unknown = {};

  constructor(
    readonly registry: StubRegistry,
    identity: WorkloadIdentity,
  ) {
    this.#identity = identity;
  }

  identity(): WorkloadIdentity {
    return this.#identity;
  }

  renew(identity: WorkloadIdentity): void {
    this.#identity = identity;
    for (const listener of this.#listeners) listener(identity);
  }

  pushPolicy(policy: unknown): void {
    this.policy = policy;
    for (const listener of this.#policy) listener(policy);
  }

  onIdentity(listener: (identity: WorkloadIdentity) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  watchPolicy(_service: string, listener: (policy: unknown) => void): () => void {
    this.#policy.add(listener);
    listener(this.policy);
    return () => this.#policy.delete(listener);
  }

  watch(service: string, listener: (e: readonly MeshEndpoint[]) => void): () => void {
    return this.registry.watch(service, listener);
  }

  async register(endpoint: MeshEndpoint): Promise<void> {
    this.registry.put(endpoint);
  }

  async deregister(service: string, instance: string): Promise<void> {
    this.registry.remove(service, instance);
  }

  async close(): Promise<void> {}
}

export interface TestApp {
  port: number;
  /** Requests the app saw, with their headers. */
  seen: IncomingMessage['headers'][];
  close(): Promise<void>;
}

/** A loopback app; `handle` answers, by default 200 with the caller's identity header. */
export async function startApp(
  handle?: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<TestApp> {
  const seen: IncomingMessage['headers'][] = [];
  const server: Server = createServer((req, res) => {
    seen.push(req.headers);
    req.resume();
    if (handle) return handle(req, res);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ peer: req.headers['x-sluice-peer-identity'] ?? null, path: req.url }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const TD = 'mesh.test';
export const idOf = (service: string, td = TD): string => `spiffe://${td}/svc/${service}`;
