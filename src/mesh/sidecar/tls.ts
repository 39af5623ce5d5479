import { connect, createSecureContext, type PeerCertificate, type SecureContext } from 'node:tls';
import type { buildConnector } from 'undici';
import type { WorkloadIdentity } from '../contract.js';
import { parseSpiffeId, spiffeIdOfCertificate } from '../spiffe.js';
import { CONNECT_FAILED } from './attempt.js';

/** What the sidecar's TLS servers and clients present and trust for one identity. */
export function secureContextOptions(identity: WorkloadIdentity) {
  return {
    key: identity.keyPem,
    cert: identity.certPem,
    ca: identity.trustBundlePem,
    minVersion: 'TLSv1.2' as const,
  };
}

/** The trust domain of our own identity: peers must belong to it. */
export function trustDomainOf(identity: WorkloadIdentity): string {
  const parsed = parseSpiffeId(identity.spiffeId);
  if (parsed === undefined) throw new TypeError(`not a SPIFFE ID: ${identity.spiffeId}`);
  return parsed.trustDomain;
}

/**
 * Node's default check wants a DNS or IP SAN matching the host and rejects URI-only
 * SVIDs; a mesh peer is instead who its one URI SAN says, and must be `expected`.
 */
export function checkPeerIdentity(expected: string) {
  return (_host: string, cert: PeerCertificate): Error | undefined => {
    const found = spiffeIdOfCertificate(cert);
    if ('reason' in found) return peerError(`the peer is not a mesh workload: ${found.reason}`);
    if (found.id !== expected) return peerError(`the peer is ${found.id}, expected ${expected}`);
    return undefined;
  };
}

function peerError(message: string): Error {
  return Object.assign(new Error(message), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
}

/** The identity the sidecar presents now; replaced whole on renewal. */
export class IdentityHolder {
  #context: SecureContext;
  #identity: WorkloadIdentity;

  constructor(identity: WorkloadIdentity) {
    this.#identity = identity;
    this.#context = createSecureContext(secureContextOptions(identity));
  }

  get identity(): WorkloadIdentity {
    return this.#identity;
  }

  get context(): SecureContext {
    return this.#context;
  }

  /** Throws (keeping the current one) when the new key and certificate do not load. */
  replace(identity: WorkloadIdentity): void {
    const context = createSecureContext(secureContextOptions(identity));
    this.#identity = identity;
    this.#context = context;
  }
}

/**
 * An undici connector that dials with the identity current at dial time (so renewal
 * needs no new pool) and accepts only a peer proving `expected`.
 */
export function meshConnector(
  holder: IdentityHolder,
  expected: string,
  connectTimeoutMs = 5000,
): buildConnector.connector {
  const checkServerIdentity = checkPeerIdentity(expected);
  return (options, callback) => {
    let settled = false;
    const socket = connect({
      host: options.hostname,
      port: Number(options.port),
      secureContext: holder.context,
      // SNI carries no meaning here; the identity check above is what authenticates.
      servername: undefined,
      checkServerIdentity,
      ALPNProtocols: ['http/1.1'],
    });
    socket.setNoDelay(true);
    const timer = setTimeout(() => {
      socket.destroy(Object.assign(new Error('mesh connect timeout'), { code: 'ETIMEDOUT' }));
    }, connectTimeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      if (settled) return;
      settled = true;
      callback(null, socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      if (settled) return;
      settled = true;
      // Nothing of the request was sent: any method may be tried on another endpoint.
      callback(Object.assign(error, { [CONNECT_FAILED]: true }), null);
    });
    return socket;
  };
}
