import { csrInvalid } from '../errors.js';
import { type CryptoKey, type CryptoKeyPair, ecdsaP256, x509 } from './x509.js';

const MAX_CSR_BYTES = 8 * 1024;
const SAN_OID = '2.5.29.17';

/** A CSR for `spiffeId` signed with the workload's key: what a sidecar sends to be certified. */
export async function createCsr(keys: CryptoKeyPair, spiffeId: string): Promise<string> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys,
    signingAlgorithm: ecdsaP256,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeId }])],
  });
  return csr.toString('pem');
}

export interface CheckedCsr {
  publicKey: CryptoKey;
  /** The key's SubjectPublicKeyInfo, DER. */
  spki: ArrayBuffer;
}

/**
 * Accepts a CSR only when it is one well-formed PKCS#10 block, signed (ECDSA with SHA-256)
 * by the P-256 key it carries, and asks for exactly `spiffeId` as its one URI SAN and for
 * nothing else: no other SAN, no extension (a CA flag, key usages) the CA would have to
 * refuse or silently drop.
 */
export async function checkCsr(pem: unknown, spiffeId: string): Promise<CheckedCsr> {
  if (typeof pem !== 'string' || pem.length === 0) throw csrInvalid('csr must be a PEM string');
  if (Buffer.byteLength(pem) > MAX_CSR_BYTES) {
    throw csrInvalid(`the CSR is larger than ${MAX_CSR_BYTES} bytes`);
  }
  let csr: x509.Pkcs10CertificateRequest;
  try {
    const blocks = x509.PemConverter.decodeWithHeaders(pem);
    if (blocks.length !== 1 || blocks[0]!.type !== 'CERTIFICATE REQUEST') {
      throw new Error('expected exactly one CERTIFICATE REQUEST block');
    }
    csr = new x509.Pkcs10CertificateRequest(blocks[0]!.rawData);
  } catch (error) {
    throw csrInvalid('the CSR is not one PEM "CERTIFICATE REQUEST" in PKCS#10', error);
  }
  const signature = csr.signatureAlgorithm as unknown as { name: string; hash?: { name?: string } };
  if (signature.name !== 'ECDSA' || signature.hash?.name !== 'SHA-256') {
    throw csrInvalid('the CSR must be signed with ECDSA and SHA-256');
  }
  const algorithm = csr.publicKey.algorithm as { name: string; namedCurve?: string };
  if (algorithm.name !== 'ECDSA' || algorithm.namedCurve !== 'P-256') {
    throw csrInvalid('the key must be ECDSA P-256');
  }
  let signed = false;
  try {
    signed = await csr.verify();
  } catch (error) {
    throw csrInvalid('the CSR signature cannot be checked', error);
  }
  if (!signed) throw csrInvalid('the CSR signature does not match its key');
  checkRequestedExtensions(csr, spiffeId);
  const publicKey = await csr.publicKey.export(ecdsaP256, ['verify']);
  return { publicKey, spki: csr.publicKey.rawData };
}

function checkRequestedExtensions(csr: x509.Pkcs10CertificateRequest, spiffeId: string): void {
  const extensions = csr.extensions;
  const other = extensions.find((e) => e.type !== SAN_OID);
  if (other !== undefined) throw csrInvalid(`the CSR asks for the extension ${other.type}`);
  const sans = extensions.filter((e) => e.type === SAN_OID);
  if (sans.length !== 1) throw csrInvalid(`the CSR must ask for exactly one URI SAN, ${spiffeId}`);
  const names = new x509.SubjectAlternativeNameExtension(sans[0]!.rawData).names.items;
  if (names.length !== 1 || names[0]!.type !== 'url') {
    throw csrInvalid(`the CSR must ask for exactly one URI SAN, ${spiffeId}, and no other name`);
  }
  if (names[0]!.value !== spiffeId) {
    throw csrInvalid(`the CSR asks for ${names[0]!.value}; this token allows ${spiffeId} only`);
  }
}
