import { loadOptional } from '../../../core/optional.js';

export type PgModule = typeof import('pg');

let loaded: Promise<PgModule> | undefined;

/** Loads `pg` on first use only, so installs that never choose PostgreSQL need not have it. */
export function loadPg(): Promise<PgModule> {
  loaded ??= loadOptional('pg', 'the postgres messaging driver', () => import('pg')).then(
    (module) => (module as unknown as { default?: PgModule }).default ?? module,
    (error: unknown) => {
      loaded = undefined;
      throw error;
    },
  );
  return loaded;
}
