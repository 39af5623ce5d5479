import { InvalidArgumentError } from '../../../core/errors.js';
import { knownKeys } from '../../validate.js';

export interface NatsDriverOptions {
  /** Starts every stream, consumer and subject name this driver makes; default `sluice`. */
  readonly prefix?: string | undefined;
  /**
   * The server-side lease (JetStream `ack_wait`), in ms: how long a message held by a consumer
   * that died waits before it is redelivered. Leases a consumer asks for beyond it are kept
   * alive with `working()`, shorter ones are ended early by this driver. Default 30 s.
   */
  readonly ackWait?: number;
  /** JetStream `max_ack_pending` per queue or group: the ceiling on messages in flight. */
  readonly maxAckPending?: number;
  readonly storage?: 'file' | 'memory';
  readonly replicas?: number;
  /** Timeout of JetStream API calls and publish acknowledgements, in ms; default 5 s. */
  readonly timeout?: number;
  /** Pause between reconnect attempts, in ms; default 250. */
  readonly reconnectTimeWait?: number;
  /** The connection name shown by the server. */
  readonly name?: string;
}

export interface ResolvedNatsOptions {
  readonly prefix: string;
  readonly ackWaitMs: number;
  readonly maxAckPending: number;
  readonly storage: 'file' | 'memory';
  readonly replicas: number;
  readonly timeoutMs: number;
  readonly reconnectTimeWaitMs: number;
  readonly name: string;
}

const prefixPattern = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;

const keys = [
  'prefix',
  'ackWait',
  'maxAckPending',
  'storage',
  'replicas',
  'timeout',
  'reconnectTimeWait',
  'name',
];

export function resolveNatsOptions(options: NatsDriverOptions = {}): ResolvedNatsOptions {
  // `driver` and `url` come along when connect() passes its whole options object.
  knownKeys('nats driver option', options, [...keys, 'driver', 'url']);
  if (options.storage !== undefined && options.storage !== 'file' && options.storage !== 'memory') {
    throw new InvalidArgumentError(
      `nats storage must be "file" or "memory", got ${JSON.stringify(options.storage)}`,
    );
  }
  const prefix = options.prefix ?? 'sluice';
  if (!prefixPattern.test(prefix)) {
    throw new InvalidArgumentError(
      `nats prefix must be 1-32 letters, digits, "_" or "-", starting with a letter or digit; got ${JSON.stringify(prefix)}`,
    );
  }
  return {
    prefix,
    ackWaitMs: atLeast('ackWait', options.ackWait, 30_000, 1000),
    maxAckPending: atLeast('maxAckPending', options.maxAckPending, 20_000, 1),
    storage: options.storage ?? 'file',
    replicas: atLeast('replicas', options.replicas, 1, 1),
    timeoutMs: atLeast('timeout', options.timeout, 5000, 100),
    reconnectTimeWaitMs: atLeast('reconnectTimeWait', options.reconnectTimeWait, 250, 10),
    name: options.name ?? 'sluice',
  };
}

function atLeast(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new InvalidArgumentError(
      `nats ${name} must be an integer >= ${min}, got ${String(value)}`,
    );
  }
  return value;
}
