import { createHash } from 'node:crypto';
import { parseServiceSpiffeId } from '../spiffe.js';
import { type CryptoKey, ecdsaP256, randomSerial, x509 } from './x509.js';

const SKEW_MS = 20_000; // Linkerd's clockSkewAllowance: notBefore a little in the past.

export interface CaCertificateOptions {
  trustDomain: string;
  /** Subject common name, e.g. `sluice root 2026-12-07`. */
  commonName: string;
  publicKey: CryptoKey;
  signingKey: CryptoKey;
  /** The signer's certificate; absent for a self-signed root. */
  signer?: x509.X509Certificate;
  now: number;
  ttlMs: number;
  /** 0 for the issuer: it signs leaves only. Absent for the root. */
  pathLength?: number;
}

/** A CA certificate as the SPIFFE X.509-SVID rules want: cA, keyCertSign, ID without a path. */
export async function createCaCertificate(o: CaCertificateOptions): Promise<x509.X509Certificate> {
  const name = `CN=${o.commonName}, O=${o.trustDomain}`;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(true, o.pathLength, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `spiffe://${o.trustDomain}` }]),
    await x509.SubjectKeyIdentifierExtension.create(o.publicKey),
  ];
  if (o.signer !== undefined) {
    extensions.push(await x509.AuthorityKeyIdentifierExtension.create(o.signer));
  }
  return x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: name,
    issuer: o.signer?.subject ?? name,
    notBefore: new Date(o.now - SKEW_MS),
    notAfter: new Date(o.now + o.ttlMs),
    publicKey: o.publicKey,
    signingKey: o.signingKey,
    signingAlgorithm: ecdsaP256,
    extensions,
  });
}

export interface LeafOptions {
  spiffeId: string;
  publicKey: CryptoKey;
  issuer: x509.X509Certificate;
  issuerKey: CryptoKey;
  now: number;
  ttlMs: number;
}

/**
 * An X.509-SVID: exactly one URI SAN, not a CA, critical keyUsage digitalSignature only,
 * EKU serverAuth + clientAuth. Its lifetime never outlasts the issuer's.
 */
export async function createLeafCertificate(o: LeafOptions): Promise<x509.X509Certificate> {
  const parsed = parseServiceSpiffeId(o.spiffeId);
  const notAfter = Math.min(o.now + o.ttlMs, o.issuer.notAfter.getTime());
  return x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `O=${parsed?.trustDomain ?? 'sluice'}`,
    issuer: o.issuer.subject,
    notBefore: new Date(o.now - SKEW_MS),
    notAfter: new Date(notAfter),
    publicKey: o.publicKey,
    signingKey: o.issuerKey,
    signingAlgorithm: ecdsaP256,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension(
        [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
        false,
      ),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: o.spiffeId }]),
      await x509.SubjectKeyIdentifierExtension.create(o.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(o.issuer),
    ],
  });
}

/** SHA-256 of a public key's SubjectPublicKeyInfo, base64url: binds a renewal token to a key. */
export function keyThumbprint(spki: ArrayBuffer): string {
  return createHash('sha256').update(Buffer.from(spki)).digest('base64url');
}

/** Every certificate in a PEM text, in order. */
export function parseCertificates(pem: string): x509.X509Certificate[] {
  return x509.PemConverter.decode(pem).map((der) => new x509.X509Certificate(der));
}

export function pemOf(certificates: readonly x509.X509Certificate[]): string {
  return certificates.map((c) => `${c.toString('pem')}\n`).join('');
}
