// The storefront with the dashboard on free ports, for the page-weight benchmark: some
// orders placed, then `sluice load` traffic recorded for a while and replayed into the past
// so the store holds HISTORY_MINUTES (default 10; 0: none) of a storefront under that load.
// Prints the store's row counts on stderr, then `{"url": …}` on a line on stdout once ready;
// stops on SIGTERM or SIGINT.
// Usage: node --import tsx test/dashboard/serve.ts
import { runLoad } from '../../src/cli/load.js';
import type { TelemetryStore } from '../../src/observe/store/index.js';
import { json, login } from '../storefront/running.js';
import { replayHistory } from './history.js';
import { startDashboardStorefront } from './storefront.js';

const minutes = Number(process.env.HISTORY_MINUTES ?? 10);
const running = await startDashboardStorefront();
const gateway = running.storefront.gatewayUrl;
const auth = { authorization: `Bearer ${await login(gateway, 'alice')}` };
const since = Date.now();
for (let i = 0; i < 10; i++) {
  const res = await fetch(`${gateway}/api/orders`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json', 'idempotency-key': `bench-${i}` },
    body: JSON.stringify({ items: [{ sku: 'kettle', qty: 1 }] }),
  });
  await json(res);
}
if (minutes > 0) {
  const log = process.stdout.write.bind(process.stdout);
  // The load's summary goes to stderr: stdout carries only the line the benchmark waits for.
  process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
  await runLoad(['--url', gateway, '--rate', '50/s', '--duration', '20s', '--settle', '5s']);
  process.stdout.write = log;
}
// Let the scraper and the consumers catch up, so every page has data to show.
await new Promise((resolve) => setTimeout(resolve, 5_000));
// The supervisor's store is a TelemetryStore: the history is written through it.
const store = running.storefront.system.telemetry as TelemetryStore;
if (minutes > 0) {
  const written = replayHistory(store, { since, minutes, scrapeMs: 1000 });
  process.stderr.write(`history replayed: ${JSON.stringify(written)}\n`);
}
process.stderr.write(`store: ${JSON.stringify(store.stats().counts)}\n`);
process.stdout.write(`${JSON.stringify({ url: running.dashboard.url })}\n`);
const stop = async (): Promise<void> => {
  await running.stop();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
