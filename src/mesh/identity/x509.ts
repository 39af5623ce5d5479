// @peculiar/x509 resolves its ASN.1 parsers through tsyringe, which needs the Reflect
// metadata polyfill loaded first: this module is the only place the library is imported.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };
export type CryptoKey = webcrypto.CryptoKey;
export type CryptoKeyPair = webcrypto.CryptoKeyPair;

/** Every key in the mesh: ECDSA P-256 signing with SHA-256 (as Consul's leaves always are). */
export const ecdsaP256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export function generateKeyPair(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(ecdsaP256, true, [
    'sign',
    'verify',
  ]) as Promise<CryptoKeyPair>;
}

/** PKCS#8 PEM of a private key. */
export async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

/** The key pair of a PKCS#8 PEM P-256 key (the public half derived from it). */
export async function importKeyPair(pem: string): Promise<CryptoKeyPair> {
  const der = x509.PemConverter.decodeFirst(pem);
  const privateKey = await webcrypto.subtle.importKey('pkcs8', der, ecdsaP256, true, ['sign']);
  const jwk = await webcrypto.subtle.exportKey('jwk', privateKey);
  const { d: _, key_ops: __, ...publicJwk } = jwk;
  const publicKey = await webcrypto.subtle.importKey('jwk', publicJwk, ecdsaP256, true, ['verify']);
  return { privateKey, publicKey };
}

/** A random positive serial number of 16 bytes, hex. */
export function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return Buffer.from(bytes).toString('hex');
}
