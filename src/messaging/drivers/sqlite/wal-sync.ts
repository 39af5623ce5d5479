import { type FileHandle, open } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { SyncFailedError } from '../../errors.js';
import type { DurableSync } from './transaction-batcher.js';

/** How the WAL reaches the disk; a parameter so tests can make it fail. */
export interface WalFiles {
  open(path: string): Promise<FileHandle>;
}

const nodeFiles: WalFiles = { open: (path) => open(path, 'r') };

/**
 * Makes committed WAL frames durable off the main thread. The connection commits with
 * synchronous=NORMAL (its write() calls put the frames in the page cache, which survives a
 * process kill), and a durable write resolves only after an fdatasync of the WAL that began
 * after its commit, run on libuv's thread pool. Recovery keeps the longest prefix of the WAL
 * whose checksums chain, so one sync makes every earlier commit durable; a checkpoint syncs
 * the WAL before it copies frames and the database after, as with synchronous=FULL.
 *
 * Syncs are coalesced: while one runs, every caller waits for the single next one. SQLite
 * never deletes the WAL while a connection has the database open, so one handle serves the
 * driver's life. Like SQLite on the first sync of a new WAL, the directory is synced once.
 */
export class WalSync implements DurableSync {
  readonly #walPath: string;
  readonly #files: WalFiles;
  #handle: Promise<FileHandle> | undefined;
  #running: Promise<void> | undefined;
  #next: Promise<void> | undefined;
  #closed = false;

  constructor(databasePath: string, files: WalFiles = nodeFiles) {
    this.#walPath = `${resolve(databasePath)}-wal`;
    this.#files = files;
  }

  /** Resolves once every commit made before this call is on disk. */
  flush(): Promise<void> {
    if (this.#closed) return Promise.reject(new SyncFailedError('the WAL sync is closed'));
    if (this.#running === undefined) {
      this.#running = this.#syncOnce();
      return this.#running;
    }
    // The sync under way may have started before the caller's commit: wait for the next.
    this.#next ??= this.#running.then(
      () => this.#startNext(),
      () => this.#startNext(),
    );
    return this.#next;
  }

  /** Waits for syncs under way, then releases the file. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#running !== undefined) await this.#running.catch(() => {});
    const handle = this.#handle;
    this.#handle = undefined;
    await handle?.then((h) => h.close()).catch(() => {});
  }

  #startNext(): Promise<void> {
    this.#next = undefined;
    this.#running = this.#syncOnce();
    return this.#running;
  }

  async #syncOnce(): Promise<void> {
    try {
      const handle = await this.#open();
      await handle.datasync();
    } catch (error) {
      throw new SyncFailedError(`syncing ${this.#walPath} failed`, { cause: error });
    } finally {
      if (this.#next === undefined) this.#running = undefined;
    }
  }

  #open(): Promise<FileHandle> {
    if (this.#handle === undefined) {
      const opening = this.#files.open(this.#walPath).then(async (handle) => {
        await syncDirectory(this.#files, dirname(this.#walPath));
        return handle;
      });
      // A failed open is retried by the next sync rather than remembered.
      opening.catch(() => {
        if (this.#handle === opening) this.#handle = undefined;
      });
      this.#handle = opening;
    }
    return this.#handle;
  }
}

/** As SQLite does, a directory that cannot be opened or synced (some platforms) is skipped. */
async function syncDirectory(files: WalFiles, path: string): Promise<void> {
  try {
    const dir = await files.open(path);
    await dir.sync().finally(() => dir.close());
  } catch {}
}
