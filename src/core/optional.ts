import { DependencyMissingError } from './errors.js';

/**
 * Optional peer dependencies (engine clients) load only when the feature that needs them
 * is chosen. These turn "not installed" into DependencyMissingError naming the package;
 * any other failure while loading it is passed on unchanged.
 */
export async function loadOptional<T>(
  packageName: string,
  purpose: string,
  importer: () => Promise<T>,
): Promise<T> {
  try {
    return await importer();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new DependencyMissingError(packageName, purpose, { cause: error });
    }
    throw error;
  }
}

/**
 * Throws DependencyMissingError at once when an optional peer dependency is not
 * installed, so a misconfiguration surfaces where the component is created rather than on
 * its first call. Resolution is synchronous; the caller loads the package later.
 */
export function requireInstalled(packageName: string, purpose: string): void {
  try {
    import.meta.resolve(packageName);
  } catch (error) {
    throw new DependencyMissingError(packageName, purpose, { cause: error });
  }
}
