import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitFor } from '../support/wait-for.js';
import { json, login, patiently, type RunningStorefront, startStorefront } from './running.js';

test('an order whose payment never answers fails after its last delivery, unbilled', {
  timeout: 180_000,
}, async () => {
  let storefront: RunningStorefront | undefined;
  let passed = false;
  try {
    storefront = await startStorefront({
      configure: (config) => {
        config.services!.fulfillment!.env = { FULFILLMENT_MAX_ATTEMPTS: '3' };
      },
    });
    const { system, gatewayUrl } = storefront;
    const payment = system.urlOf('payment')!;
    const outage = await fetch(`${payment}/fault`, {
      method: 'POST',
      body: JSON.stringify({ errorRate: 1 }),
    });
    await outage.arrayBuffer();

    const auth = { authorization: `Bearer ${await login(gatewayUrl, 'alice')}` };
    const res = await fetch(`${gatewayUrl}/api/orders`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', 'idempotency-key': 'outage-1' },
      body: JSON.stringify({ items: [{ sku: 'tea-green', qty: 1 }] }),
    });
    assert.equal(res.status, 201);
    const { id } = await json<{ id: string }>(res);
    await waitFor(
      'the order has failed',
      async () => {
        const order = await json<{ status: string }>(
          await fetch(`${gatewayUrl}/api/orders/${id}`, { headers: auth }),
        );
        return order.status === 'payment_failed' ? order : undefined;
      },
      patiently,
    );
    assert.deepEqual(await json(await fetch(`${system.urlOf('billing')}/invoices/${id}`)), []);
    passed = true;
  } finally {
    const left: number[] = (await storefront?.stop({ showLog: !passed })) ?? [];
    assert.deepEqual(left, [], 'every service process has exited');
  }
});
