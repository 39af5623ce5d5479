import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '../../core/errors.js';
import type { ApiKeyConfig } from '../config.js';

/** Looks an API key up by its SHA-256; the keys themselves are never held in memory. */
export function apiKeyLookup(config: ApiKeyConfig): (key: string) => string | undefined {
  const byHash = new Map<string, string>();
  for (const { id, sha256 } of config.keys) {
    if (!/^[0-9a-f]{64}$/i.test(sha256)) {
      throw new InvalidArgumentError(`apiKeys: key "${id}" needs sha256 as 64 hex digits`);
    }
    byHash.set(sha256.toLowerCase(), id);
  }
  return (key) => byHash.get(createHash('sha256').update(key).digest('hex'));
}

export const hashApiKey = (key: string): string => createHash('sha256').update(key).digest('hex');
