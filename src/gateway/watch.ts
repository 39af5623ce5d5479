import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname } from 'node:path';

/**
 * Calls `onChange` (debounced) when `file` changes. Watches the directory, not the file,
 * because editors and config tools replace files by renaming a new one over them.
 */
export function watchFile(file: string, onChange: () => void, debounceMs = 200): () => void {
  return watchFiles([file], onChange, debounceMs);
}

/**
 * `watchFile` for several files: one call of `onChange` for changes that come together
 * (a certificate and its key copied one after the other), one watcher per directory.
 */
export function watchFiles(
  files: readonly string[],
  onChange: () => void,
  debounceMs = 200,
): () => void {
  const names = new Map<string, Set<string>>();
  for (const file of files) {
    const dir = dirname(file);
    names.set(dir, (names.get(dir) ?? new Set()).add(basename(file)));
  }
  let timer: NodeJS.Timeout | undefined;
  const watchers: FSWatcher[] = [];
  for (const [dir, watched] of names) {
    try {
      const watcher = watch(dir, (_, changed) => {
        if (changed !== null && !watched.has(changed)) return;
        clearTimeout(timer);
        timer = setTimeout(onChange, debounceMs);
      });
      watcher.on('error', () => {});
      watchers.push(watcher);
    } catch {
      // A directory that cannot be watched leaves SIGHUP and reload() as the way.
    }
  }
  return () => {
    clearTimeout(timer);
    for (const watcher of watchers) watcher.close();
  };
}
