import type { RedisOptions } from 'ioredis';
import { checkOptions, type Filled } from '../../../core/config/options.js';
import { closed, count, milliseconds } from '../../../core/config/schema-parts.js';
import type { SchemaObject } from '../../../core/config/validator.js';

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

export const redisOptionsSchema: SchemaObject = closed({
  prefix: {
    type: 'string',
    default: 'sluice:',
    description: 'Starts every key and channel the driver uses.',
  },
  maxDeadLetters: {
    ...count,
    default: 100_000,
    description: 'Dead letters kept per queue or group; older ones are trimmed.',
  },
  sweepIntervalMs: {
    ...milliseconds,
    default: 100,
    description: 'How often a consumer runs the full claim script; 0: on every claim.',
  },
  redis: {
    type: 'object',
    properties: {
      // ioredis would prefix only the keys a script declares, not the ones it derives.
      keyPrefix: {
        not: {},
        expected: "the driver's prefix option, not the ioredis keyPrefix",
      },
    },
    default: {},
    description: 'Passed to both ioredis connections (TLS, password, retry strategy, ...).',
  },
});

export type ResolvedRedisOptions = Filled<RedisDriverOptions>;

export function resolveRedisOptions(options: RedisDriverOptions = {}): ResolvedRedisOptions {
  return checkOptions('redis driver options', redisOptionsSchema, options);
}
