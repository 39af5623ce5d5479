import { checkOptions, type Filled } from '../../../core/config/options.js';
import { closed, count, text } from '../../../core/config/schema-parts.js';
import type { SchemaObject } from '../../../core/config/validator.js';

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

const atLeast = (minimum: number): SchemaObject => ({ type: 'integer', minimum });

export const natsOptionsSchema: SchemaObject = closed({
  prefix: {
    type: 'string',
    pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$',
    expected: '1-32 letters, digits, "_" or "-", starting with a letter or digit',
    default: 'sluice',
    description: 'Starts every stream, consumer and subject name.',
  },
  ackWait: {
    ...atLeast(1000),
    default: 30_000,
    description: 'The server-side lease in ms: a dead consumer holds a message this long.',
  },
  maxAckPending: { ...count, default: 20_000, description: 'Messages in flight per consumer.' },
  storage: { enum: ['file', 'memory'], default: 'file', description: 'Stream storage.' },
  replicas: { ...count, default: 1, description: 'Stream replicas in a cluster.' },
  timeout: {
    ...atLeast(100),
    default: 5000,
    description: 'JetStream API calls and publish acknowledgements, in ms.',
  },
  reconnectTimeWait: {
    ...atLeast(10),
    default: 250,
    description: 'The pause between reconnect attempts, in ms.',
  },
  name: { ...text, default: 'sluice', description: 'The connection name the server shows.' },
});

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

export function resolveNatsOptions(options: NatsDriverOptions = {}): ResolvedNatsOptions {
  const o = checkOptions<Filled<NatsDriverOptions>>(
    'nats driver options',
    natsOptionsSchema,
    options,
  );
  return {
    prefix: o.prefix,
    ackWaitMs: o.ackWait,
    maxAckPending: o.maxAckPending,
    storage: o.storage,
    replicas: o.replicas,
    timeoutMs: o.timeout,
    reconnectTimeWaitMs: o.reconnectTimeWait,
    name: o.name,
  };
}
