import { isSluiceError, SluiceError, type SluiceErrorOptions } from '../../core/errors.js';

export type MeshErrorCode =
  /** A peer's certificate is not a mesh identity this sidecar accepts. */
  | 'SLUICE_MESH_PEER_REJECTED'
  /** No endpoint of the upstream is healthy and admitted by its breaker. */
  | 'SLUICE_MESH_NO_ENDPOINT'
  /** The control plane gave no identity (yet). */
  | 'SLUICE_MESH_NO_IDENTITY';

export class MeshError extends SluiceError {
  constructor(code: MeshErrorCode, message: string, options?: SluiceErrorOptions) {
    super(code, message, options);
    this.name = 'MeshError';
  }
}

export const isMeshError = (e: unknown, code?: MeshErrorCode): e is MeshError =>
  isSluiceError(e) && e.code.startsWith('SLUICE_MESH_') && (code === undefined || e.code === code);
