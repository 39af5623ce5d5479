import { InvalidArgumentError } from '../../core/errors.js';
import type { RegistryStore } from './store.js';

/**
 * Opens the registry on the engine a URL names: `redis://…` / `rediss://…`,
 * `postgres://…` / `postgresql://…`, or a SQLite file (`sqlite:PATH` or a plain path).
 * `prefix` keeps one mesh's keys or tables apart from another's on a shared engine.
 */
export async function openRegistryStore(url: string, prefix = 'sluice'): Promise<RegistryStore> {
  if (!/^[a-z][a-z0-9_]{0,39}$/.test(prefix)) {
    throw new InvalidArgumentError(`"${prefix}" is not a store prefix: a-z, then a-z, 0-9 or _`);
  }
  if (/^rediss?:\/\//.test(url)) {
    const { RedisRegistryStore } = await import('./redis-store.js');
    return RedisRegistryStore.open(url, prefix);
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    const { PostgresRegistryStore } = await import('./postgres-store.js');
    return PostgresRegistryStore.open(url, prefix);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//.test(url)) {
    throw new InvalidArgumentError(
      `the mesh registry runs on sqlite, redis or postgres; "${url.split(':')[0]}" is not one`,
    );
  }
  const { SqliteRegistryStore } = await import('./sqlite-store.js');
  return new SqliteRegistryStore(url.replace(/^sqlite:/, ''), prefix);
}
