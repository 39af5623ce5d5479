import { InvalidArgumentError } from '../../../core/errors.js';
import { knownKeys, nonNegative, optionalString } from '../../validate.js';

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

export interface ResolvedRabbitOptions {
  readonly prefix: string;
  readonly connectionName: string;
  readonly reconnectDelayMs: number;
  readonly reconnectMaxDelayMs: number;
  readonly heartbeat: number;
  readonly localDedupe: boolean;
}

const optionKeys = [
  'prefix',
  'connectionName',
  'reconnectDelay',
  'reconnectMaxDelay',
  'heartbeat',
  'localDedupe',
  // They come along when connect() passes its whole options object.
  'driver',
  'url',
];

export function resolveRabbitOptions(options: RabbitDriverOptions = {}): ResolvedRabbitOptions {
  knownKeys('rabbitmq driver option', options, optionKeys);
  const localDedupe = options.localDedupe ?? false;
  if (typeof localDedupe !== 'boolean') {
    throw new InvalidArgumentError(
      `localDedupe must be true or false, got ${JSON.stringify(localDedupe)}`,
    );
  }
  return {
    prefix: optionalString('prefix', options.prefix) ?? 'sluice',
    connectionName: optionalString('connectionName', options.connectionName) ?? 'sluice',
    reconnectDelayMs: nonNegative('reconnectDelay', options.reconnectDelay, 100),
    reconnectMaxDelayMs: nonNegative('reconnectMaxDelay', options.reconnectMaxDelay, 5_000),
    heartbeat: nonNegative('heartbeat', options.heartbeat, 10),
    localDedupe,
  };
}
