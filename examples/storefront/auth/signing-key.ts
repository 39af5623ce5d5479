import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
}

interface StoredKey {
  kid: string;
  pem: string;
}

/**
 * The RS256 key tokens are signed with, kept in `file` so that tokens issued before a
 * restart still verify after it. The first start creates it, readable by its owner only.
 */
export function loadSigningKey(file: string): SigningKey {
  const stored = readStoredKey(file) ?? createStoredKey(file);
  return { kid: stored.kid, privateKey: createPrivateKey(stored.pem) };
}

function readStoredKey(file: string): StoredKey | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const stored = JSON.parse(text) as Partial<StoredKey>;
  if (typeof stored.kid !== 'string' || typeof stored.pem !== 'string')
    throw new Error(`${file} is not a signing key: expected {kid, pem}`);
  return { kid: stored.kid, pem: stored.pem };
}

function createStoredKey(file: string): StoredKey {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const stored: StoredKey = {
    kid: `storefront-${Date.now().toString(36)}`,
    pem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
  // Written aside, then linked into place: a link never replaces an existing file, so when
  // two instances start at once both end up with the first one's complete key.
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(stored), { mode: 0o600 });
  try {
    linkSync(temporary, file);
    return stored;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return readStoredKey(file)!;
  } finally {
    unlinkSync(temporary);
  }
}
