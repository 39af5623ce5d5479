import { checkOptions, type Filled } from '../../../core/config/options.js';
import { closed, count, flag, milliseconds } from '../../../core/config/schema-parts.js';
import type { SchemaObject } from '../../../core/config/validator.js';

export interface SqliteDriverOptions {
  /**
   * `full` (default): a publish resolves only once the WAL is synced to disk (on a thread
   * of the pool, so other writes go on meanwhile), and survives power loss; `normal`
   * survives a process kill but not an OS crash, and skips the sync.
   */
  synchronous?: 'full' | 'normal';
  /** How long a writer waits for another process's write lock. Default 5 s. */
  busyTimeout?: number;
  /**
   * Watch the database's WAL file so consumers in other processes wake within
   * milliseconds of a commit. Default true; the consumers' poll interval is the fallback.
   */
  watch?: boolean;
  /**
   * Dead letters kept per queue (per group for a topic). At the cap the oldest are dropped
   * to make room, counted in `sluice_messaging_dead_letters_dropped_total`.
   * Default 10,000.
   */
  maxDeadLetters?: number | undefined;
}

export const sqliteOptionsSchema: SchemaObject = closed({
  synchronous: {
    enum: ['full', 'normal'],
    default: 'full',
    description: 'full: a publish waits for the WAL to be synced; normal skips the sync.',
  },
  busyTimeout: {
    ...milliseconds,
    default: 5000,
    description: "How long a writer waits for another process's write lock, in ms.",
  },
  watch: {
    ...flag,
    default: true,
    description: 'Watches the WAL so consumers in other processes wake at once.',
  },
  maxDeadLetters: {
    ...count,
    default: 10_000,
    description: 'Dead letters kept per queue or group; the oldest are dropped.',
  },
});

export type ResolvedSqliteOptions = Filled<SqliteDriverOptions>;

export function resolveSqliteOptions(options: SqliteDriverOptions = {}): ResolvedSqliteOptions {
  return checkOptions('sqlite driver options', sqliteOptionsSchema, options);
}
