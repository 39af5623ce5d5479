import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { readProblem } from '../core/config/load.js';
import { ConfigError, type ConfigProblem } from '../core/errors.js';
import type { TlsConfig } from './config.js';

/** The PEM files of `tls`, by their key path under `gateway.tls`. */
export function tlsFiles(tls: TlsConfig, baseDir: string): Map<string, string> {
  const files = new Map<string, string>([
    ['cert', resolve(baseDir, tls.cert)],
    ['key', resolve(baseDir, tls.key)],
  ]);
  if (tls.ca !== undefined) files.set('ca', resolve(baseDir, tls.ca));
  if (tls.clientCert) files.set('clientCert.ca', resolve(baseDir, tls.clientCert.ca));
  return files;
}

function problem(file: string, key: string, message: string): ConfigProblem {
  return { file, line: 0, column: 0, path: `gateway.tls${key ? `.${key}` : ''}`, message };
}

/**
 * Reads the PEM files `tls` names (relative to `baseDir`) and checks that they make a
 * usable certificate and key, so that a bad file fails the start or the reload, not the
 * first handshake. Every unreadable file is reported, each under its key.
 */
export async function loadTls(tls: TlsConfig, baseDir: string): Promise<SecureContextOptions> {
  const problems: ConfigProblem[] = [];
  const pem = new Map<string, Buffer>();
  await Promise.all(
    [...tlsFiles(tls, baseDir)].map(async ([key, file]) => {
      try {
        pem.set(key, await readFile(file));
      } catch (error) {
        problems.push(problem(file, key, readProblem(file, error)));
      }
    }),
  );
  if (problems.length > 0) throw new ConfigError(problems);
  const clientCa = pem.get('clientCert.ca');
  if (clientCa !== undefined && !hasCertificate(clientCa)) {
    const file = resolve(baseDir, tls.clientCert!.ca);
    throw new ConfigError([problem(file, 'clientCert.ca', 'no PEM certificate in the file')]);
  }
  const chain = pem.get('ca');
  const options: SecureContextOptions = {
    // With client certificates, `ca` is what they are verified against and nothing else:
    // the chain's own CAs travel with the certificate instead, and are not trusted for that.
    cert:
      clientCa !== undefined && chain !== undefined
        ? Buffer.concat([pem.get('cert')!, Buffer.from('\n'), chain])
        : pem.get('cert'),
    key: pem.get('key'),
    ...(clientCa !== undefined ? { ca: clientCa } : chain !== undefined ? { ca: chain } : {}),
    ...(tls.minVersion === undefined ? {} : { minVersion: tls.minVersion }),
  };
  try {
    createSecureContext(options);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError(
      [problem(resolve(baseDir, tls.cert), '', `the certificate and key do not load: ${reason}`)],
      { cause: error },
    );
  }
  return options;
}

function hasCertificate(pem: Buffer): boolean {
  const text = pem.toString('latin1');
  const start = text.indexOf('-----BEGIN CERTIFICATE-----');
  const end = text.indexOf('-----END CERTIFICATE-----', start);
  if (start < 0 || end < 0) return false;
  try {
    new X509Certificate(text.slice(start, end + 25));
    return true;
  } catch {
    return false;
  }
}
