import type { PeerCertificate } from 'node:tls';
import { InvalidArgumentError } from '../core/errors.js';

/** A parsed SPIFFE ID: `spiffe://<trustDomain><path>`. */
export interface SpiffeId {
  readonly trustDomain: string;
  readonly path: string;
}

const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
const SEGMENT = /^[A-Za-z0-9._-]+$/;

/** Parses a SPIFFE ID by the rules of the SPIFFE ID standard; undefined when it breaks one. */
export function parseSpiffeId(text: string): SpiffeId | undefined {
  if (!text.startsWith('spiffe://') || text.length > 2048) return undefined;
  const rest = text.slice('spiffe://'.length);
  const slash = rest.indexOf('/');
  const trustDomain = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? '' : rest.slice(slash);
  if (!TRUST_DOMAIN.test(trustDomain)) return undefined;
  if (path !== '') {
    for (const segment of path.slice(1).split('/')) {
      if (!SEGMENT.test(segment) || segment === '.' || segment === '..') return undefined;
    }
  }
  return { trustDomain, path };
}

// Sluice names services more narrowly than SPIFFE's path segments, as sluice.yaml does.
const SERVICE = /^[a-z][a-z0-9-]{0,62}$/;

export function assertTrustDomain(trustDomain: string): void {
  if (!TRUST_DOMAIN.test(trustDomain) || trustDomain.length > 255 || /^\.+$/.test(trustDomain)) {
    throw new InvalidArgumentError(
      `"${trustDomain}" is not a trust domain: lower-case letters, digits, ".", "-" and "_"`,
    );
  }
}

export function isServiceName(name: string): boolean {
  return SERVICE.test(name);
}

export function assertServiceName(name: string): void {
  if (!isServiceName(name)) {
    throw new InvalidArgumentError(
      `"${name}" is not a service name: a lower-case letter, then letters, digits or "-" (63 at most)`,
    );
  }
}

/** `spiffe://<trust-domain>/svc/<service>`: the identity of every instance of a service. */
export function serviceSpiffeId(trustDomain: string, service: string): string {
  assertTrustDomain(trustDomain);
  assertServiceName(service);
  return `spiffe://${trustDomain}/svc/${service}`;
}

/** The trust domain and service of a Sluice SPIFFE ID, or undefined when it is not one. */
export function parseServiceSpiffeId(
  id: string,
): { trustDomain: string; service: string } | undefined {
  const parsed = parseSpiffeId(id);
  if (parsed === undefined) return undefined;
  const service = serviceOf(parsed);
  return service === undefined ? undefined : { trustDomain: parsed.trustDomain, service };
}

/** The service a mesh identity names, or undefined when it is not `/svc/<name>`. */
export function serviceOf(id: SpiffeId): string | undefined {
  const match = /^\/svc\/(.+)$/.exec(id.path);
  return match !== null && isServiceName(match[1]!) ? match[1] : undefined;
}

/**
 * The URI SANs of a certificate as node:tls shows them (`URI:spiffe://...`, quoted as a JSON
 * string when the value holds a comma or a quote).
 */
function uriSans(subjectAltName: string | undefined): string[] {
  if (!subjectAltName) return [];
  const out: string[] = [];
  let i = 0;
  while (i < subjectAltName.length) {
    const colon = subjectAltName.indexOf(':', i);
    if (colon < 0) break;
    const kind = subjectAltName.slice(i, colon);
    let value: string;
    let end: number;
    if (subjectAltName[colon + 1] === '"') {
      // A quoted value: find its closing quote, skipping escaped ones.
      let j = colon + 2;
      while (j < subjectAltName.length && subjectAltName[j] !== '"') {
        j += subjectAltName[j] === '\\' ? 2 : 1;
      }
      try {
        value = JSON.parse(subjectAltName.slice(colon + 1, j + 1)) as string;
      } catch {
        value = '';
      }
      end = j + 1;
    } else {
      const comma = subjectAltName.indexOf(', ', colon);
      end = comma < 0 ? subjectAltName.length : comma;
      value = subjectAltName.slice(colon + 1, end);
    }
    if (kind === 'URI') out.push(value);
    i = end + 2;
  }
  return out;
}

/**
 * The SPIFFE ID of an X.509-SVID: exactly one URI SAN, a valid SPIFFE ID. Returns a
 * reason instead when the certificate is not an SVID.
 */
export function spiffeIdOfCertificate(
  cert: Pick<PeerCertificate, 'subjectaltname'> | undefined,
): { id: string; parsed: SpiffeId } | { reason: string } {
  const uris = uriSans(cert?.subjectaltname);
  if (uris.length !== 1) return { reason: `expected exactly one URI SAN, found ${uris.length}` };
  const parsed = parseSpiffeId(uris[0]!);
  if (parsed === undefined) return { reason: 'the URI SAN is not a SPIFFE ID' };
  return { id: uris[0]!, parsed };
}
