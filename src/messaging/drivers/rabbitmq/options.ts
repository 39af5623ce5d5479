import { checkOptions, type Filled } from '../../../core/config/options.js';
import { closed, flag, milliseconds } from '../../../core/config/schema-parts.js';
import type { SchemaObject } from '../../../core/config/validator.js';

export interface RabbitDriverOptions {
  /** Prefix of every queue and exchange the driver declares. Default `sluice`. */
  prefix?: string | undefined;
  /** Shown in the broker's connection list. Default `sluice`. */
  connectionName?: string;
  /** First reconnect delay; doubles up to `reconnectMaxDelay`. Default 100 ms. */
  reconnectDelay?: number;
  /** Default 5 s. */
  reconnectMaxDelay?: number;
  /** AMQP heartbeat in seconds. Default 10. */
  heartbeat?: number;
  /**
   * RabbitMQ cannot de-duplicate producer ids. `true` remembers ids published through this
   * driver instance only (one process); repeats from other processes are stored. Default
   * false: publishing with an id and a dedupe window is then SLUICE_UNSUPPORTED.
   */
  localDedupe?: boolean;
}

const name: SchemaObject = { type: 'string', minLength: 1, maxLength: 1024 };

export const rabbitOptionsSchema: SchemaObject = closed({
  prefix: {
    ...name,
    default: 'sluice',
    description: 'Starts every queue and exchange the driver declares.',
  },
  connectionName: {
    ...name,
    default: 'sluice',
    description: "Shown in the broker's connection list.",
  },
  reconnectDelay: {
    ...milliseconds,
    default: 100,
    description: 'The first reconnect delay in ms; it doubles up to reconnectMaxDelay.',
  },
  reconnectMaxDelay: {
    ...milliseconds,
    default: 5000,
    description: 'The longest reconnect delay, in ms.',
  },
  heartbeat: {
    type: 'number',
    minimum: 0,
    default: 10,
    description: 'The AMQP heartbeat, in seconds.',
  },
  localDedupe: {
    ...flag,
    default: false,
    description: 'Remembers the ids published by this process, as RabbitMQ cannot.',
  },
});

export interface ResolvedRabbitOptions {
  readonly prefix: string;
  readonly connectionName: string;
  readonly reconnectDelayMs: number;
  readonly reconnectMaxDelayMs: number;
  readonly heartbeat: number;
  readonly localDedupe: boolean;
}

export function resolveRabbitOptions(options: RabbitDriverOptions = {}): ResolvedRabbitOptions {
  const o = checkOptions<Filled<RabbitDriverOptions>>(
    'rabbitmq driver options',
    rabbitOptionsSchema,
    options,
  );
  return {
    prefix: o.prefix,
    connectionName: o.connectionName,
    reconnectDelayMs: o.reconnectDelay,
    reconnectMaxDelayMs: o.reconnectMaxDelay,
    heartbeat: o.heartbeat,
    localDedupe: o.localDedupe,
  };
}
