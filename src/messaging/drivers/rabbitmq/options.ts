import { checkOptions, type Filled } from '../../../core/config/options.js';
import { closed, flag, milliseconds, url } from '../../../core/config/schema-parts.js';
import type { SchemaObject } from '../../../core/config/validator.js';
import { InvalidArgumentError } from '../../../core/errors.js';
import { redactUrl } from '../unreachable.js';

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
  /**
   * The management plugin's HTTP API, e.g. `http://127.0.0.1:15672`. With it, `stats()`
   * counts in flight and delayed messages for the whole queue (so consumer lag is exported);
   * without it, AMQP 0-9-1 lets it count only this process's. Credentials come from this URL,
   * else from the AMQP URL. When the API fails, `stats()` rejects with SLUICE_ENGINE_UNAVAILABLE.
   * Default `''`: none.
   */
  managementUrl?: string | undefined;
  /** How long a management API call may take. Default 1.5 s. */
  managementTimeout?: number;
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
  managementUrl: {
    ...url,
    pattern: `^$|${url.pattern}`,
    default: '',
    examples: ['http://127.0.0.1:15672'],
    description:
      "The management plugin's HTTP API: with it, stats count in flight and delayed messages for the whole queue; '' for none.",
  },
  managementTimeout: {
    ...milliseconds,
    exclusiveMinimum: 0,
    // Under the 2 s the metrics give a stats call, so a slow API fails with its own error.
    default: 1500,
    description: 'How long a management API call may take, in ms.',
  },
});

export interface ResolvedRabbitOptions {
  readonly prefix: string;
  readonly connectionName: string;
  readonly reconnectDelayMs: number;
  readonly reconnectMaxDelayMs: number;
  readonly heartbeat: number;
  readonly localDedupe: boolean;
  readonly management: { readonly url: string; readonly timeoutMs: number } | undefined;
}

export function resolveRabbitOptions(options: RabbitDriverOptions = {}): ResolvedRabbitOptions {
  const o = checkOptions<Filled<RabbitDriverOptions>>(
    'rabbitmq driver options',
    rabbitOptionsSchema,
    options,
  );
  if (o.managementUrl !== '') checkManagementUrl(o.managementUrl);
  return {
    prefix: o.prefix,
    connectionName: o.connectionName,
    reconnectDelayMs: o.reconnectDelay,
    reconnectMaxDelayMs: o.reconnectMaxDelay,
    heartbeat: o.heartbeat,
    localDedupe: o.localDedupe,
    management:
      o.managementUrl === '' ? undefined : { url: o.managementUrl, timeoutMs: o.managementTimeout },
  };
}

/** Beyond the schema's check: the API speaks HTTP, and the message never shows a password. */
function checkManagementUrl(value: string): void {
  const parsed = URL.canParse(value) ? new URL(value) : undefined;
  if (parsed?.protocol === 'http:' || parsed?.protocol === 'https:') return;
  throw new InvalidArgumentError(
    `rabbitmq driver options: managementUrl: expected an http:// or https:// URL such as http://127.0.0.1:15672 (got ${redactUrl(value)})`,
  );
}
