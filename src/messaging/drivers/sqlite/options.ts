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

export const defaultMaxDeadLetters = 10_000;
