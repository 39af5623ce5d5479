import { SluiceError, type SluiceErrorOptions } from '../../core/errors.js';

export type ControlErrorCode =
  /** A heartbeat for an instance the registry does not hold (never registered, or expired). */
  | 'SLUICE_MESH_NOT_REGISTERED'
  /** A valid token, but for another service or instance than the one the call is about. */
  | 'SLUICE_MESH_FORBIDDEN'
  /** The control plane cannot be reached or answered with an error. */
  | 'SLUICE_MESH_CONTROL_UNAVAILABLE';

export class ControlError extends SluiceError {
  declare readonly code: ControlErrorCode;

  constructor(code: ControlErrorCode, message: string, options?: SluiceErrorOptions) {
    super(code, message, options);
    this.name = 'ControlError';
  }
}
