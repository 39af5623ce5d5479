import { checkOptions, type Filled } from '../../../core/config/options.js';
import { closed, count, milliseconds, text } from '../../../core/config/schema-parts.js';
import type { SchemaObject } from '../../../core/config/validator.js';

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

export const postgresOptionsSchema: SchemaObject = closed({
  schema: {
    type: 'string',
    pattern: '^[a-z_][a-z0-9_]{0,39}$',
    expected:
      'lower-case letters, digits and _ (at most 40, not starting with a digit), such as sluice',
    default: 'sluice',
    description: "The PostgreSQL schema holding Sluice's tables, created on open if missing.",
  },
  poolSize: {
    ...count,
    default: 10,
    description: 'Connections in the pool; the listening connection is extra.',
  },
  applicationName: {
    ...text,
    default: 'sluice',
    description: 'Sent to the server, visible in pg_stat_activity.',
  },
  connectTimeout: {
    ...milliseconds,
    default: 10_000,
    description: 'How long a query waits for a connection from the pool, in ms.',
  },
});

export interface ResolvedPostgresOptions {
  readonly schema: string;
  readonly poolSize: number;
  readonly applicationName: string;
  readonly connectTimeoutMs: number;
}

export function resolvePostgresOptions(options: PostgresDriverOptions): ResolvedPostgresOptions {
  const o = checkOptions<Filled<PostgresDriverOptions>>(
    'postgres driver options',
    postgresOptionsSchema,
    options,
  );
  return {
    schema: o.schema,
    poolSize: o.poolSize,
    applicationName: o.applicationName,
    connectTimeoutMs: o.connectTimeout,
  };
}
