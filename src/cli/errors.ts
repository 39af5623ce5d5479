import { codedError, errorGuard } from '../core/index.js';

/** Wrong command line: the CLI prints it with a pointer to `--help` and exits 2. */
export class UsageError extends codedError('UsageError', 'SLUICE_USAGE') {}

export const isUsageError = errorGuard<UsageError>('SLUICE_USAGE');
