import { dirname, join } from 'node:path';
import {
  connectOptionsOf,
  DashboardServer,
  lazyBroker,
  systemSources,
} from '../../src/dashboard/index.js';
import { type RunningStorefront, startStorefront } from '../storefront/running.js';
import { storefrontDir } from '../storefront/system.js';

export interface DashboardStorefront {
  storefront: RunningStorefront;
  dashboard: DashboardServer;
  stop: () => Promise<number[]>;
}

/**
 * The storefront with its telemetry store (scraped every second) and the dashboard beside
 * it on free ports, with fast live updates. Fulfillment gives up on an order after two
 * deliveries, so a poisoned message reaches the dead-letter queue within seconds.
 */
export async function startDashboardStorefront(): Promise<DashboardStorefront> {
  const storefront = await startStorefront({
    configure: (config) => {
      const data = dirname(config.messaging!.url!);
      config.telemetry = {
        metrics: { port: 0 },
        store: { path: join(data, 'telemetry.db'), scrapeInterval: '1s' },
      };
      config.services!.fulfillment!.env = { FULFILLMENT_MAX_ATTEMPTS: '2' };
      // Seven services and their sidecars can take more than the default 30 s to start on a
      // busy machine; these tests are about the pages, not about how fast the system starts.
      for (const service of Object.values(config.services!)) {
        const health = service.health;
        if (health === undefined) continue;
        service.health = {
          ...(typeof health === 'string' ? { path: health } : health),
          startTimeout: '120s',
        };
      }
    },
  });
  const broker = lazyBroker(connectOptionsOf(storefront.system.config, storefrontDir));
  const dashboard = new DashboardServer({
    sources: systemSources(storefront.system, broker.get),
    port: 0,
    events: { tickMs: 1000, tailMs: 500 },
  });
  try {
    await dashboard.start();
  } catch (error) {
    await storefront.stop({ showLog: true });
    throw error;
  }
  return {
    storefront,
    dashboard,
    stop: async () => {
      await dashboard.stop();
      await broker.close();
      return storefront.stop();
    },
  };
}
