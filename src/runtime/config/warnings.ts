import { readFile } from 'node:fs/promises';
import type { ConfigProblem } from '../../core/index.js';
import { trustedProxyWarnings } from '../../gateway/trust-warnings.js';
import { positioned } from './check.js';
import type { SluiceConfig } from './config.js';

/**
 * What a valid file probably gets wrong, each with its line and key path: shown by
 * `sluice validate` and logged when the system starts, never a reason to refuse the file.
 */
export async function configWarnings(file: string, config: SluiceConfig): Promise<ConfigProblem[]> {
  const found =
    config.gateway === undefined
      ? []
      : trustedProxyWarnings(config.gateway).map((w) => ({
          segments: ['gateway', ...w.segments],
          message: w.message,
        }));
  if (found.length === 0) return [];
  return positioned(await readFile(file, 'utf8'), file, found);
}
