import { errorGuard, SluiceError, type SluiceErrorOptions } from '../core/index.js';

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

export const isServiceNotReadyError = errorGuard<ServiceNotReadyError>('SLUICE_SERVICE_NOT_READY');

/** Nothing answers at a system's control API: the system is not running, or runs elsewhere. */
export class SystemUnreachableError extends SluiceError {
  constructor(
    readonly url: string,
    message: string,
    options?: SluiceErrorOptions,
  ) {
    super('SLUICE_SYSTEM_UNREACHABLE', message, options);
    this.name = 'SystemUnreachableError';
  }
}

export const isSystemUnreachableError = errorGuard<SystemUnreachableError>(
  'SLUICE_SYSTEM_UNREACHABLE',
);

/** Ports the file asks for are taken (or not ours to bind): nothing was started. */
export class PortsUnavailableError extends SluiceError {
  constructor(
    readonly problems: readonly string[],
    options?: SluiceErrorOptions,
  ) {
    const noun = problems.length === 1 ? 'port is' : 'ports are';
    super(
      'SLUICE_PORT_IN_USE',
      `nothing started: ${problems.length} ${noun} not free\n${problems.map((p) => `  ${p}`).join('\n')}`,
      options,
    );
    this.name = 'PortsUnavailableError';
  }
}

export const isPortsUnavailableError = errorGuard<PortsUnavailableError>('SLUICE_PORT_IN_USE');
