import type { RedisOptions } from 'ioredis';

export interface RedisDriverOptions {
  /** Prefix of every key and channel the driver uses. Default `sluice:`. */
  prefix?: string | undefined;
  /** Dead letters kept per queue or group; older ones are trimmed. Default 100,000. */
  maxDeadLetters?: number;
  /**
   * A consumer on the default lease that is not ordered by key reads new messages with a
   * plain XREADGROUP; at least this often (and whenever delayed or retried messages fall
   * due) it runs the full claim script instead, which also collects leases that ran out.
   * 0 runs the script on every claim. Default 100 ms.
   */
  sweepIntervalMs?: number;
  /**
   * Passed to both ioredis connections (TLS, password, retry strategy, ...). The command
   * connection defaults to `maxRetriesPerRequest: 0` and no re-sending after a reconnect,
   * so a publish cut off by an outage rejects rather than hangs or is stored twice.
   */
  redis?: RedisOptions;
}
