import { InvalidArgumentError } from '../../../core/errors.js';
import { knownKeys, nonNegative } from '../../validate.js';

export interface PostgresDriverOptions {
  /** The schema holding Sluice's tables, created on open if missing. Default `sluice`. */
  schema?: string | undefined;
  /** Connections in the pool (the listening connection is extra). Default 10. */
  poolSize?: number;
  /** Sent to the server, visible in `pg_stat_activity`. Default `sluice`. */
  applicationName?: string;
  /** How long a query waits for a connection from the pool. Default 10 s. */
  connectTimeout?: number;
}

/** What `connect({ driver: 'postgres', url, ... })` takes. */
export type PostgresConnectOptions = { driver: 'postgres'; url: string } & PostgresDriverOptions;

const optionKeys = ['schema', 'poolSize', 'applicationName', 'connectTimeout', 'driver', 'url'];

const schemaName = /^[a-z_][a-z0-9_]{0,39}$/;

export interface ResolvedPostgresOptions {
  readonly schema: string;
  readonly poolSize: number;
  readonly applicationName: string;
  readonly connectTimeoutMs: number;
}

export function resolvePostgresOptions(options: PostgresDriverOptions): ResolvedPostgresOptions {
  knownKeys('postgres driver option', options, optionKeys);
  const schema = options.schema ?? 'sluice';
  if (!schemaName.test(schema)) {
    throw new InvalidArgumentError(
      `schema must be lower-case letters, digits and _ (at most 40, not starting with a digit), got ${JSON.stringify(schema)}`,
    );
  }
  const poolSize = options.poolSize ?? 10;
  if (!Number.isInteger(poolSize) || poolSize < 1) {
    throw new InvalidArgumentError(`poolSize must be an integer >= 1, got ${poolSize}`);
  }
  return {
    schema,
    poolSize,
    applicationName:
      typeof options.applicationName === 'string' ? options.applicationName : 'sluice',
    connectTimeoutMs: nonNegative('connectTimeout', options.connectTimeout, 10_000),
  };
}
