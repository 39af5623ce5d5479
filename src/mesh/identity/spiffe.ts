import { InvalidArgumentError } from '../../core/errors.js';

// SPIFFE-ID: trust domain in lower case letters, digits, '.', '-', '_'; path segments of
// letters, digits, '.', '-', '_' (standards/SPIFFE-ID.md). Sluice names services more
// narrowly, as sluice.yaml does.
const TRUST_DOMAIN = /^[a-z0-9._-]{1,255}$/;
const SERVICE = /^[a-z][a-z0-9-]{0,62}$/;

export function assertTrustDomain(trustDomain: string): void {
  if (!TRUST_DOMAIN.test(trustDomain) || /^\.+$/.test(trustDomain)) {
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
  const match = /^spiffe:\/\/([^/]+)\/svc\/([^/]+)$/.exec(id);
  if (match === null) return undefined;
  const [, trustDomain, service] = match as unknown as [string, string, string];
  if (!TRUST_DOMAIN.test(trustDomain) || !SERVICE.test(service)) return undefined;
  return { trustDomain, service };
}
