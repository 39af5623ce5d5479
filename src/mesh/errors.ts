import { isSluiceError, SluiceError, type SluiceErrorOptions } from '../core/errors.js';

/** Why the mesh (its CA, control plane or a sidecar) refused something, or could not do it. */
export type MeshErrorCode =
  /** The CSR is malformed, badly signed, or asks for what a leaf may not have. */
  | 'SLUICE_MESH_CSR_INVALID'
  /** The bootstrap or renewal token is missing, forged, expired or for another service. */
  | 'SLUICE_MESH_TOKEN_INVALID'
  /** The CA's files are missing, unreadable, inconsistent or expired. */
  | 'SLUICE_MESH_CA_INVALID'
  /** A valid token, but for another service or instance than the one the call is about. */
  | 'SLUICE_MESH_FORBIDDEN'
  /** A heartbeat for an instance the registry does not hold (never registered, or expired). */
  | 'SLUICE_MESH_NOT_REGISTERED'
  /** The control plane cannot be reached. */
  | 'SLUICE_MESH_CONTROL_UNAVAILABLE'
  /** A peer's certificate is not a mesh identity this sidecar accepts. */
  | 'SLUICE_MESH_PEER_REJECTED'
  /** No endpoint of the upstream is healthy and admitted by its breaker. */
  | 'SLUICE_MESH_NO_ENDPOINT'
  /** The control plane gave no identity (yet). */
  | 'SLUICE_MESH_NO_IDENTITY';

export class MeshError extends SluiceError {
  declare readonly code: MeshErrorCode;

  constructor(code: MeshErrorCode, message: string, options?: SluiceErrorOptions) {
    super(code, message, options);
    this.name = 'MeshError';
  }
}

/** True for any mesh error (by its code, so it works across two copies of the package). */
export const isMeshError = (e: unknown, code?: MeshErrorCode): e is MeshError =>
  isSluiceError(e) && e.code.startsWith('SLUICE_MESH_') && (code === undefined || e.code === code);

export const csrInvalid = (message: string, cause?: unknown) =>
  new MeshError('SLUICE_MESH_CSR_INVALID', message, { cause });
export const tokenInvalid = (message: string, cause?: unknown) =>
  new MeshError('SLUICE_MESH_TOKEN_INVALID', message, { cause });
export const caInvalid = (message: string, cause?: unknown) =>
  new MeshError('SLUICE_MESH_CA_INVALID', message, { cause });
