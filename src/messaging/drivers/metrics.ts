import { defineCounter, defineGauge } from '../../observe/metrics.js';

/**
 * The engine connection metrics, the same names on every networked driver. `connection`
 * names one connection of the driver: its role (`command`, `listener`), or the name the
 * application gave it.
 */

type Labels = 'driver' | 'connection';

/** Looked up on each use, so a cleared registry gets them back. */
export const connectionMetrics = {
  connected: () =>
    defineGauge<Labels>({
      name: 'sluice_messaging_connected',
      help: 'Engine connections of this process that are up, by driver and connection (0 while down or reconnecting).',
      labelNames: ['driver', 'connection'],
    }),
  reconnects: () =>
    defineCounter<Labels>({
      name: 'sluice_messaging_reconnects_total',
      help: 'Times a driver re-established an engine connection it had lost.',
      labelNames: ['driver', 'connection'],
    }),
};

/** Starts both series of a connection at 0, so it shows (with no reconnect) from its creation. */
export function declareConnection(labels: Record<Labels, string>): void {
  connectionMetrics.connected().inc(labels, 0);
  connectionMetrics.reconnects().inc(labels, 0);
}
