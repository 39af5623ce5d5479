import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { readProblem } from '../core/config/load.js';
import { ConfigError, type ConfigProblem } from '../core/errors.js';
import type { TlsConfig } from './config.js';

type PemKey = 'cert' | 'key' | 'ca';

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
  const read = async (key: PemKey): Promise<Buffer | undefined> => {
    const name = tls[key];
    if (name === undefined) return undefined;
    const file = resolve(baseDir, name);
    try {
      return await readFile(file);
    } catch (error) {
      problems.push(problem(file, key, readProblem(file, error)));
      return undefined;
    }
  };
  const [cert, key, ca] = await Promise.all([read('cert'), read('key'), read('ca')]);
  if (problems.length > 0) throw new ConfigError(problems);
  const options: SecureContextOptions = {
    cert,
    key,
    ...(ca === undefined ? {} : { ca }),
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
