import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rmdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { caInvalid } from '../errors.js';

/** The CA's files inside its directory; keys and the token secret are written 0600. */
export const caFileNames = {
  trustBundle: 'trust-bundle.pem',
  root: 'root.pem',
  rootKey: 'root-key.pem',
  issuer: 'issuer.pem',
  issuerKey: 'issuer-key.pem',
  tokenSecret: 'token-secret',
} as const;

export type CaFile = keyof typeof caFileNames;

export const caPath = (dir: string, file: CaFile) => join(dir, caFileNames[file]);

export async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return undefined;
    throw caInvalid(`cannot read ${path}: ${(error as Error).message}`, error);
  }
}

/** Writes through a temporary file and a rename, so a reader never sees half a file. */
export async function writeAtomic(path: string, text: string, secret: boolean): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, text, { mode: secret ? 0o600 : 0o644 });
  await rename(temporary, path);
}

/** The shared HMAC secret for mesh tokens: read from the directory, or created there once. */
export async function tokenSecret(dir: string): Promise<Uint8Array> {
  const path = caPath(dir, 'tokenSecret');
  const existing = await readOptional(path);
  if (existing === undefined) {
    const secret = randomBytes(32);
    try {
      await writeFile(path, secret.toString('hex'), { mode: 0o600, flag: 'wx' });
      return secret;
    } catch (error) {
      if ((error as { code?: string }).code !== 'EEXIST') throw error;
      return tokenSecret(dir);
    }
  }
  const secret = Buffer.from(existing.trim(), 'hex');
  if (secret.byteLength < 32) throw caInvalid(`${path} must hold at least 32 bytes in hex`);
  return secret;
}

const STALE_LOCK_MS = 30_000;

/**
 * Runs `work` while holding the directory's lock, so two control planes starting together
 * on one host do not both generate a CA: the second waits, then loads the first one's.
 */
export async function withCaLock<T>(dir: string, work: () => Promise<T>): Promise<T> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const lock = join(dir, '.lock');
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch (error) {
      if ((error as { code?: string }).code !== 'EEXIST') throw error;
      const since = await stat(lock).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (since > STALE_LOCK_MS) await rmdir(lock).catch(() => {});
      else await delay(50);
    }
  }
  try {
    return await work();
  } finally {
    await rmdir(lock).catch(() => {});
  }
}
