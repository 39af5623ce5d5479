import { defineCounter, defineGauge } from '../../../observe/metrics.js';

type Connection = 'pool' | 'listener';

/** Looked up on each use, so a cleared registry gets its metrics back. */
export const postgresMetrics = {
  connected: () =>
    defineGauge<'schema' | 'connection'>({
      name: 'sluice_postgres_connected',
      help: 'Whether the postgres messaging driver reaches the server (1) or not (0).',
      labelNames: ['schema', 'connection'],
      labelValues: { connection: ['pool', 'listener'] },
    }),
  reconnects: () =>
    defineCounter<'schema' | 'connection'>({
      name: 'sluice_postgres_reconnects_total',
      help: 'Connections the postgres messaging driver re-established after losing one.',
      labelNames: ['schema', 'connection'],
      labelValues: { connection: ['pool', 'listener'] },
    }),
  lag: () =>
    defineGauge<'schema' | 'source'>({
      name: 'sluice_postgres_consumer_lag_seconds',
      help: 'Age of the oldest message in the latest claim: how far a consumer runs behind.',
      labelNames: ['schema', 'source'],
    }),
  published: () =>
    defineCounter<'schema' | 'outcome'>({
      name: 'sluice_postgres_published_total',
      help: 'Messages whose publish the postgres driver answered: committed, de-duplicated or failed.',
      labelNames: ['schema', 'outcome'],
      labelValues: { outcome: ['stored', 'duplicate', 'failed'] },
    }),
  streamLag: () =>
    defineGauge<'schema' | 'stream' | 'group'>({
      name: 'sluice_postgres_stream_group_lag',
      help: 'Entries appended to a stream after the offset a consumer group committed.',
      labelNames: ['schema', 'stream', 'group'],
    }),
};

export function setConnected(schema: string, connection: Connection, up: boolean): void {
  postgresMetrics.connected().set({ schema, connection }, up ? 1 : 0);
}

export function countReconnect(schema: string, connection: Connection): void {
  postgresMetrics.reconnects().inc({ schema, connection });
}

export function countPublished(schema: string, outcomes: readonly string[]): void {
  let stored = 0;
  for (const o of outcomes) if (o === 'stored') stored++;
  const counter = postgresMetrics.published();
  if (stored > 0) counter.inc({ schema, outcome: 'stored' }, stored);
  if (outcomes.length > stored)
    counter.inc({ schema, outcome: 'duplicate' }, outcomes.length - stored);
}
