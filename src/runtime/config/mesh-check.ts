import type { PathSegment } from '../../core/index.js';

/** True when the file turns the mesh on: `mesh` declared, without `enabled: false`. */
export function meshEnabled(config: { mesh?: { enabled?: boolean } | undefined }): boolean {
  return config.mesh !== undefined && config.mesh.enabled !== false;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * `services.*.policies` and `services.*.authorization` are applied by the sidecars alone:
 * without the mesh nothing would apply them, so a file that declares them without it is
 * refused rather than quietly left unprotected.
 */
export function meshProblems(value: unknown): { segments: PathSegment[]; message: string }[] {
  if (!isRecord(value)) return [];
  const mesh = value.mesh;
  if (isRecord(mesh) && mesh.enabled !== false) return [];
  const services = isRecord(value.services) ? value.services : {};
  const problems: { segments: PathSegment[]; message: string }[] = [];
  for (const [name, service] of Object.entries(services)) {
    if (!isRecord(service)) continue;
    for (const key of ['policies', 'authorization'] as const) {
      if (service[key] === undefined) continue;
      problems.push({
        segments: ['services', name, key],
        message: `${key === 'policies' ? 'policies are' : 'authorization is'} applied by the mesh's sidecars: add \`mesh: { enabled: true }\` to the file (or remove them); without the mesh they would be ignored`,
      });
    }
  }
  return problems;
}
