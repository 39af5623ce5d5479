import { isSluiceError, SluiceError, type SluiceErrorOptions } from '../core/index.js';

/** Wrong command line: the CLI prints it with a pointer to `--help` and exits 2. */
export class UsageError extends SluiceError {
  constructor(message: string, options?: SluiceErrorOptions) {
    super('SLUICE_USAGE', message, options);
    this.name = 'UsageError';
  }
}

export const isUsageError = (e: unknown): e is UsageError => isSluiceError(e, 'SLUICE_USAGE');
