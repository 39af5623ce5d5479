/** Each service's `policies` (and `authorization`, when present) as the sidecars get them. */
export function policiesOf(config: { services?: Record<string, object> }): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, service] of Object.entries(config.services ?? {})) {
    const { policies, authorization } = service as { policies?: unknown; authorization?: unknown };
    out[name] =
      policies === undefined && authorization === undefined
        ? null
        : {
            ...(policies === undefined ? {} : { policies }),
            ...(authorization === undefined ? {} : { authorization }),
          };
  }
  return out;
}
