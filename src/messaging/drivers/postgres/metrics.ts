import { connectionMetrics, declareConnection } from '../metrics.js';

type Role = 'pool' | 'listener';

/** One driver per schema: the connection label names both, `<schema>/pool`. */
const labels = (schema: string, role: Role) => ({
  driver: 'postgres',
  connection: `${schema}/${role}`,
});

export function setConnected(schema: string, role: Role, up: boolean): void {
  declareConnection(labels(schema, role));
  connectionMetrics.connected().set(labels(schema, role), up ? 1 : 0);
}

export function countReconnect(schema: string, role: Role): void {
  connectionMetrics.reconnects().inc(labels(schema, role));
}
