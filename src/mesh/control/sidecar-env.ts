import { InvalidArgumentError } from '../../core/errors.js';
import { MeshControlClient, type MeshControlClientOptions } from './client.js';

/**
 * What a supervisor hands a sidecar it starts, as environment variables: where the control
 * plane is, the trust domain, the service and instance, and the instance's bootstrap token.
 */
export type SidecarEnv = {
  SLUICE_MESH_CONTROL_URL: string;
  SLUICE_MESH_TRUST_DOMAIN: string;
  SLUICE_MESH_SERVICE: string;
  SLUICE_MESH_INSTANCE: string;
  SLUICE_MESH_TOKEN: string;
};

export const sidecarEnvNames: readonly (keyof SidecarEnv)[] = [
  'SLUICE_MESH_CONTROL_URL',
  'SLUICE_MESH_TRUST_DOMAIN',
  'SLUICE_MESH_SERVICE',
  'SLUICE_MESH_INSTANCE',
  'SLUICE_MESH_TOKEN',
];

/** Connects a sidecar to its control plane from the environment its supervisor gave it. */
export async function meshClientFromEnv(
  env: Record<string, string | undefined>,
  options: Pick<MeshControlClientOptions, 'onError' | 'clock' | 'scheduler'> = {},
): Promise<MeshControlClient> {
  const missing = sidecarEnvNames.filter((name) => !env[name]);
  if (missing.length > 0) {
    throw new InvalidArgumentError(`the sidecar's environment lacks ${missing.join(', ')}`);
  }
  return MeshControlClient.connect({
    url: env.SLUICE_MESH_CONTROL_URL!,
    trustDomain: env.SLUICE_MESH_TRUST_DOMAIN!,
    service: env.SLUICE_MESH_SERVICE!,
    token: env.SLUICE_MESH_TOKEN!,
    ...options,
  });
}
