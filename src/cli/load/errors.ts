import { codedError, errorGuard } from '../../core/index.js';

/** Nothing answers at the target URL: no load was generated. */
export class TargetUnreachableError extends codedError(
  'TargetUnreachableError',
  'SLUICE_TARGET_UNREACHABLE',
) {}

/** The target answers, but not as the storefront does (a login refused, a missing catalog). */
export class TargetRefusedError extends codedError('TargetRefusedError', 'SLUICE_TARGET_REFUSED') {}

export const isTargetUnreachableError = errorGuard<TargetUnreachableError>(
  'SLUICE_TARGET_UNREACHABLE',
);
export const isTargetRefusedError = errorGuard<TargetRefusedError>('SLUICE_TARGET_REFUSED');
