import { isSluiceError, SluiceError, type SluiceErrorOptions } from '../core/index.js';

/** An instance did not pass its health check in time, or exited for good while starting. */
export class ServiceNotReadyError extends SluiceError {
  constructor(
    readonly service: string,
    message: string,
    options?: SluiceErrorOptions,
  ) {
    super('SLUICE_SERVICE_NOT_READY', message, options);
    this.name = 'ServiceNotReadyError';
  }
}

export const isServiceNotReadyError = (e: unknown): e is ServiceNotReadyError =>
  isSluiceError(e, 'SLUICE_SERVICE_NOT_READY');
