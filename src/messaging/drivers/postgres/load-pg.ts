import { DependencyMissingError } from '../../../core/errors.js';

export type PgModule = typeof import('pg');

let loaded: Promise<PgModule> | undefined;

/** Loads `pg` on first use only, so installs that never choose PostgreSQL need not have it. */
export function loadPg(): Promise<PgModule> {
  loaded ??= import('pg').then(
    (module) => (module as unknown as { default?: PgModule }).default ?? module,
    (cause: unknown) => {
      loaded = undefined;
      throw new DependencyMissingError('pg', 'the postgres messaging driver', { cause });
    },
  );
  return loaded;
}
