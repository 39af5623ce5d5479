import { webcrypto } from 'node:crypto';
import { type CryptoKey, x509 } from './x509.js';

export interface ChainInput {
  anchors: readonly x509.X509Certificate[];
  issuer: x509.X509Certificate;
  /** When given, it must be the issuer certificate's key. */
  issuerKey?: CryptoKey;
  trustDomain?: string;
  now: number;
}

/**
 * What is wrong with a CA (empty when nothing): every anchor a valid self-signed CA, the
 * issuer a valid CA signed by one of them, for the trust domain, holding the given key.
 * Checked when the CA loads and by `sluice mesh check`, so an expired or broken CA is
 * refused before it signs anything (Linkerd #9256, Dapr #8557).
 */
export async function checkChain(input: ChainInput): Promise<string[]> {
  const problems: string[] = [];
  for (const anchor of input.anchors) {
    const name = `trust anchor "${anchor.subject}"`;
    problems.push(...checkCa(anchor, name, input.now));
    if (!(await signedBy(anchor, anchor))) problems.push(`${name} is not self-signed`);
  }
  const { issuer } = input;
  problems.push(...checkCa(issuer, 'the issuer', input.now));
  let signer: x509.X509Certificate | undefined;
  for (const anchor of input.anchors) {
    if (issuer.issuer === anchor.subject && (await signedBy(issuer, anchor))) signer = anchor;
  }
  if (signer === undefined) problems.push('the issuer is not signed by any root in the bundle');
  if (input.trustDomain !== undefined) {
    const expected = `spiffe://${input.trustDomain}`;
    const san = issuer.getExtension(x509.SubjectAlternativeNameExtension);
    const uris = san?.names.items.filter((n) => n.type === 'url').map((n) => n.value) ?? [];
    if (uris.length > 0 && !uris.includes(expected)) {
      problems.push(`the issuer is for ${uris.join(', ')}, not ${expected}`);
    }
  }
  if (input.issuerKey !== undefined && !(await sameKey(issuer, input.issuerKey))) {
    problems.push("the issuer key is not the issuer certificate's key");
  }
  return problems;
}

function checkCa(cert: x509.X509Certificate, name: string, now: number): string[] {
  const problems: string[] = [];
  const constraints = cert.getExtension(x509.BasicConstraintsExtension);
  if (constraints?.ca !== true) problems.push(`${name} is not a CA (basicConstraints cA)`);
  const usages = cert.getExtension(x509.KeyUsagesExtension);
  if (usages === null || (usages.usages & x509.KeyUsageFlags.keyCertSign) === 0) {
    problems.push(`${name} may not sign certificates (keyUsage keyCertSign)`);
  }
  if (cert.notAfter.getTime() <= now) {
    problems.push(`${name} expired on ${cert.notAfter.toISOString()}`);
  }
  if (cert.notBefore.getTime() > now + 60_000) {
    problems.push(`${name} is not valid before ${cert.notBefore.toISOString()}`);
  }
  return problems;
}

async function signedBy(cert: x509.X509Certificate, signer: x509.X509Certificate) {
  try {
    return await cert.verify({ publicKey: signer.publicKey, signatureOnly: true });
  } catch {
    return false;
  }
}

async function sameKey(cert: x509.X509Certificate, key: CryptoKey): Promise<boolean> {
  const spki = Buffer.from(await webcrypto.subtle.exportKey('spki', key));
  return spki.equals(Buffer.from(cert.publicKey.rawData));
}

export interface Expiry {
  certificate: 'anchor' | 'issuer';
  subject: string;
  serial: string;
  notAfter: Date;
}

/** The expiry of every anchor and of the issuer, soonest first. */
export function expiries(
  anchors: readonly x509.X509Certificate[],
  issuer: x509.X509Certificate,
): Expiry[] {
  const entry = (certificate: Expiry['certificate'], c: x509.X509Certificate): Expiry => ({
    certificate,
    subject: c.subject,
    serial: c.serialNumber,
    notAfter: c.notAfter,
  });
  return [...anchors.map((a) => entry('anchor', a)), entry('issuer', issuer)].sort(
    (a, b) => a.notAfter.getTime() - b.notAfter.getTime(),
  );
}
