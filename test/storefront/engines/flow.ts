import assert from 'node:assert/strict';
import type { SluiceConfig } from '../../../src/runtime/index.js';
import { waitFor } from '../../support/wait-for.js';
import { json, login, patiently, type RunningStorefront, startStorefront } from '../running.js';

/** A name for this run's queues and topics, so runs on one engine never meet. */
export function runPrefix(): string {
  return `sf${process.pid}x${Date.now().toString(36)}`;
}

/**
 * The storefront with only its file's `messaging` section changed, running the main flow:
 * log in, order three times with one key; one order, fulfilled once, one invoice, stock
 * taken once.
 */
export async function orderFlowOn(
  messaging: NonNullable<SluiceConfig['messaging']>,
  prefix: string,
): Promise<void> {
  let storefront: RunningStorefront | undefined;
  let passed = false;
  try {
    storefront = await startStorefront({
      configure: (config) => {
        config.messaging = { ...messaging, prefix };
      },
    });
    await orderFlow(storefront);
    passed = true;
  } finally {
    const left: number[] = (await storefront?.stop({ showLog: !passed })) ?? [];
    assert.deepEqual(left, [], 'every service process has exited');
  }
}

async function orderFlow({ system, gatewayUrl }: RunningStorefront): Promise<void> {
  const auth = { authorization: `Bearer ${await login(gatewayUrl, 'alice')}` };
  const place = () =>
    fetch(`${gatewayUrl}/api/orders`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', 'idempotency-key': 'engine-1' },
      body: JSON.stringify({ items: [{ sku: 'mug-blue', qty: 3 }] }),
    });
  const placed: { status: number; order: { id: string; total: number } }[] = [];
  for (let i = 0; i < 3; i++) {
    const res = await place();
    placed.push({ status: res.status, order: await json(res) });
  }
  assert.deepEqual(
    placed.map((p) => p.status),
    [201, 200, 200],
  );
  const { id, total } = placed[0]!.order;
  assert.ok(
    placed.every((p) => p.order.id === id),
    'one order for one key',
  );

  await waitFor(
    'the order is fulfilled',
    async () => {
      const order = await json<{ status: string }>(
        await fetch(`${gatewayUrl}/api/orders/${id}`, { headers: auth }),
      );
      return order.status === 'fulfilled' ? order : undefined;
    },
    patiently,
  );
  const rows = (service: string, path: string) =>
    waitFor(
      `${service} has a row for the order`,
      async () => {
        const found = await json<Record<string, unknown>[]>(
          await fetch(`${system.urlOf(service)}${path}`),
        );
        return found.length > 0 ? found : undefined;
      },
      patiently,
    );
  const invoices = await rows('billing', `/invoices/${id}`);
  const changes = await rows('inventory', `/changes/${id}`);
  assert.equal(invoices.length, 1, 'one invoice');
  assert.equal(invoices[0]!.amount, total);
  assert.deepEqual(
    changes.map((c) => [c.sku, c.delta]),
    [['mug-blue', -3]],
    'stock taken once',
  );
}
