import type { RedisOptions } from 'ioredis';

export interface RedisDriverOptions {
  /** Prefix of every key and channel the driver uses. Default `sluice:`. */
  prefix?: string;
  /** Dead letters kept per queue or group; older ones are trimmed. Default 100,000. */
  maxDeadLetters?: number;
  /**
   * Passed to both ioredis connections (TLS, password, retry strategy, ...). The command
   * connection defaults to `maxRetriesPerRequest: 0` and no re-sending after a reconnect,
   * so a publish cut off by an outage rejects rather than hangs or is stored twice.
   */
  redis?: RedisOptions;
}
