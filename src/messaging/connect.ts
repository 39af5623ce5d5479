import { InvalidArgumentError } from '../core/errors.js';
import { Broker } from './broker.js';
import type { MessagingDriver } from './driver.js';
import type { NatsDriverOptions } from './drivers/nats/options.js';
import type { PostgresDriverOptions } from './drivers/postgres/options.js';
import type { RabbitDriverOptions } from './drivers/rabbitmq/options.js';
import type { RedisDriverOptions } from './drivers/redis/options.js';
import type { SqliteDriverOptions } from './drivers/sqlite/options.js';

export type ConnectOptions =
  | { driver: 'memory' }
  | ({ driver: 'sqlite'; url: string } & SqliteDriverOptions)
  | ({ driver: 'nats'; url: string } & NatsDriverOptions)
  | ({ driver: 'redis'; url: string } & RedisDriverOptions)
  | ({ driver: 'rabbitmq'; url: string } & RabbitDriverOptions)
  | ({ driver: 'postgres'; url: string } & PostgresDriverOptions)
  | { driver: MessagingDriver };

/** The networked engines: each opens from a URL plus its own options. */
const engines: Record<string, (url: string, options: object) => Promise<MessagingDriver>> = {
  nats: async (url, options) =>
    (await import('./drivers/nats/driver.js')).openNatsDriver(url, options),
  redis: async (url, options) =>
    (await import('./drivers/redis/driver.js')).openRedisDriver(url, options),
  rabbitmq: async (url, options) =>
    (await import('./drivers/rabbitmq/driver.js')).openRabbitDriver(url, options),
  postgres: async (url, options) =>
    (await import('./drivers/postgres/driver.js')).openPostgresDriver(url, options),
};

/** Opens a broker on the chosen engine; each driver's code loads only when chosen. */
export async function connect(options: ConnectOptions): Promise<Broker> {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('connect takes an options object with a driver');
  }
  const { driver } = options;
  if (typeof driver === 'object' && driver !== null) return new Broker(driver);
  if (driver === 'memory') {
    const { driver: _, ...rest } = options;
    const [{ MemoryDriver }, { resolveMemoryOptions }] = await Promise.all([
      import('./drivers/memory/driver.js'),
      import('./drivers/memory/options.js'),
    ]);
    resolveMemoryOptions(rest);
    return new Broker(new MemoryDriver());
  }
  if (driver === 'sqlite') {
    const { url, driver: _, ...rest } = options as { driver: 'sqlite'; url: string };
    if (typeof url !== 'string' || url.length === 0) {
      throw new InvalidArgumentError('the sqlite driver needs url: a file path (or ":memory:")');
    }
    // The driver checks its options before it opens the file.
    const { openSqliteDriver } = await import('./drivers/sqlite/driver.js');
    return new Broker(openSqliteDriver(url, rest));
  }
  const open = typeof driver === 'string' ? engines[driver] : undefined;
  if (open !== undefined) {
    const { url, driver: _, ...rest } = options as { driver: string; url: unknown };
    if (typeof url !== 'string' || url.length === 0) {
      throw new InvalidArgumentError(`the ${driver} driver needs url: the engine's address`);
    }
    return new Broker(await open(url, rest));
  }
  throw new InvalidArgumentError(
    `unknown driver ${JSON.stringify(driver)}; expected one of memory, sqlite, ${Object.keys(engines).join(', ')}, or a driver object`,
  );
}
