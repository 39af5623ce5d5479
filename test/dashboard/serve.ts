// The storefront with the dashboard on free ports, some orders placed, for the page-weight
// benchmark: prints `{"url": …}` on a line once ready, stops on SIGTERM or SIGINT.
// Usage: node --import tsx test/dashboard/serve.ts
import { json, login } from '../storefront/running.js';
import { startDashboardStorefront } from './storefront.js';

const running = await startDashboardStorefront();
const gateway = running.storefront.gatewayUrl;
const auth = { authorization: `Bearer ${await login(gateway, 'alice')}` };
for (let i = 0; i < 10; i++) {
  const res = await fetch(`${gateway}/api/orders`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json', 'idempotency-key': `bench-${i}` },
    body: JSON.stringify({ items: [{ sku: 'kettle', qty: 1 }] }),
  });
  await json(res);
}
// Let the scraper and the consumers catch up, so every page has data to show.
await new Promise((resolve) => setTimeout(resolve, 5_000));
process.stdout.write(`${JSON.stringify({ url: running.dashboard.url })}\n`);
const stop = async (): Promise<void> => {
  await running.stop();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
