import { DependencyMissingError } from '../core/errors.js';

/**
 * Throws DependencyMissingError at once when an optional peer dependency is not
 * installed, so a misconfiguration surfaces where the component is created rather than
 * on its first call. Resolution is synchronous; the caller loads the package later with
 * a dynamic import.
 */
export function requireInstalled(packageName: string, purpose: string): void {
  try {
    import.meta.resolve(packageName);
  } catch (error) {
    throw new DependencyMissingError(packageName, purpose, { cause: error });
  }
}
