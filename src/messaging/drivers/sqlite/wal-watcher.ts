import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname } from 'node:path';

/**
 * Every commit to a WAL-mode database appends to its `-wal` file, so an inotify watch
 * tells a process, within a millisecond or so, that another process committed: no
 * polling, no extra socket, nothing for the writer to do. The watch is on the directory,
 * filtered to the `-wal` name, so it survives the file being deleted and recreated (the
 * last connection to close removes it). Events are coalesced to one callback per turn of
 * the event loop; consumers keep a slow poll as the fallback for filesystems without
 * notifications.
 *
 * A writer appends its frames to the WAL (the events) and only then publishes the commit
 * in the shared-memory index, which raises no event. A reader woken by the last frame can
 * look before that and see nothing new, so each burst of events is followed by two late
 * callbacks, a few and some tens of milliseconds after the last event.
 */
export class WalWatcher {
  readonly #dir: string;
  readonly #name: string;
  readonly #onChange: () => void;
  #watcher: FSWatcher | undefined;
  #pending = false;
  #closed = false;
  #retry: NodeJS.Timeout | undefined;
  #late: NodeJS.Timeout | undefined;
  #later: NodeJS.Timeout | undefined;

  constructor(databasePath: string, onChange: () => void) {
    this.#dir = dirname(databasePath);
    this.#name = `${basename(databasePath)}-wal`;
    this.#onChange = onChange;
  }

  start(): void {
    if (this.#closed) return;
    try {
      this.#watcher = watch(this.#dir, { persistent: false }, (_event, filename) => {
        if (filename === null || filename === this.#name) this.#fire();
      });
      this.#watcher.on('error', () => this.#rearm());
    } catch {
      this.#rearm();
    }
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#retry);
    clearTimeout(this.#late);
    clearTimeout(this.#later);
    this.#watcher?.close();
    this.#watcher = undefined;
  }

  #fire(): void {
    clearTimeout(this.#late);
    clearTimeout(this.#later);
    this.#late = setTimeout(() => this.#call(), 5);
    this.#later = setTimeout(() => this.#call(), 50);
    this.#late.unref();
    this.#later.unref();
    if (this.#pending) return;
    this.#pending = true;
    setImmediate(() => {
      this.#pending = false;
      this.#call();
    });
  }

  #call(): void {
    if (!this.#closed) this.#onChange();
  }

  #rearm(): void {
    this.#watcher?.close();
    this.#watcher = undefined;
    if (this.#closed) return;
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => this.start(), 100);
    this.#retry.unref();
  }
}
