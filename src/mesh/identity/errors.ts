import { SluiceError, type SluiceErrorOptions } from '../../core/errors.js';

/** Why the mesh's CA refused a request or could not load. */
export type IdentityErrorCode =
  /** The CSR is malformed, badly signed, or asks for what a leaf may not have. */
  | 'SLUICE_MESH_CSR_INVALID'
  /** The bootstrap or renewal token is missing, forged, expired or for another service. */
  | 'SLUICE_MESH_TOKEN_INVALID'
  /** The CA's files are missing, unreadable, inconsistent or expired. */
  | 'SLUICE_MESH_CA_INVALID';

export class IdentityError extends SluiceError {
  declare readonly code: IdentityErrorCode;

  constructor(code: IdentityErrorCode, message: string, options?: SluiceErrorOptions) {
    super(code, message, options);
    this.name = 'IdentityError';
  }
}

export const csrInvalid = (message: string, cause?: unknown) =>
  new IdentityError('SLUICE_MESH_CSR_INVALID', message, { cause });
export const tokenInvalid = (message: string, cause?: unknown) =>
  new IdentityError('SLUICE_MESH_TOKEN_INVALID', message, { cause });
export const caInvalid = (message: string, cause?: unknown) =>
  new IdentityError('SLUICE_MESH_CA_INVALID', message, { cause });
