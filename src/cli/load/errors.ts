import { isSluiceError, SluiceError, type SluiceErrorOptions } from '../../core/index.js';

/** Nothing answers at the target URL: no load was generated. */
export class TargetUnreachableError extends SluiceError {
  constructor(message: string, options?: SluiceErrorOptions) {
    super('SLUICE_TARGET_UNREACHABLE', message, options);
    this.name = 'TargetUnreachableError';
  }
}

/** The target answers, but not as the storefront does (a login refused, a missing catalog). */
export class TargetRefusedError extends SluiceError {
  constructor(message: string, options?: SluiceErrorOptions) {
    super('SLUICE_TARGET_REFUSED', message, options);
    this.name = 'TargetRefusedError';
  }
}

export const isTargetUnreachableError = (e: unknown): e is TargetUnreachableError =>
  isSluiceError(e, 'SLUICE_TARGET_UNREACHABLE');
export const isTargetRefusedError = (e: unknown): e is TargetRefusedError =>
  isSluiceError(e, 'SLUICE_TARGET_REFUSED');
