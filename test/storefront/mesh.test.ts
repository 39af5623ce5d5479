import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../support/wait-for.js';
import { json, login, type Order, type RunningStorefront, startStorefront } from './running.js';

const intruderApp = fileURLToPath(new URL('../mesh/fixtures/meshed-app.mjs', import.meta.url));

describe('the storefront in its mesh', { timeout: 180_000 }, () => {
  let storefront: RunningStorefront;
  let flowed = false;

  before(async () => {
    storefront = await startStorefront({
      // One service more, which calls payment through its own sidecar.
      configure: (config) => {
        config.services!.intruder = {
          command: `node ${intruderApp}`,
          upstreams: ['payment'],
          health: '/healthz',
        };
      },
    });
  });

  after(async () => {
    const left = await (storefront as RunningStorefront | undefined)?.stop({ showLog: !flowed });
    assert.deepEqual(left ?? [], [], 'every app and sidecar process has exited');
  });

  test('an order is charged through the sidecars and fulfilled', async () => {
    const { gatewayUrl, system } = storefront;
    assert.equal(system.sidecars.length, system.instances.length, 'a sidecar beside each');
    const auth = { authorization: `Bearer ${await login(gatewayUrl, 'alice')}` };
    const products = await json<{ sku: string }[]>(await fetch(`${gatewayUrl}/api/products`));
    const placed = await fetch(`${gatewayUrl}/api/orders`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', 'idempotency-key': 'mesh-1' },
      body: JSON.stringify({ items: [{ sku: products[0]!.sku, qty: 1 }] }),
    });
    assert.equal(placed.status, 201);
    const { id } = await json<Order>(placed);
    await waitFor(
      'the order is fulfilled',
      async () => {
        const order = await json<Order>(
          await fetch(`${gatewayUrl}/api/orders/${id}`, { headers: auth }),
        );
        return order.status === 'fulfilled' ? order : undefined;
      },
      { timeoutMs: 60_000 },
    );
    // The charge reached payment over mTLS from fulfillment's identity, through payment's sidecar.
    const paymentSidecar = system.sidecars.find((s) => s.service === 'payment-sidecar')!;
    const metrics = await (await fetch(`${paymentSidecar.url}/metrics`)).text();
    assert.match(
      metrics,
      /sluice_mesh_requests_total\{(?=[^}]*direction="inbound")(?=[^}]*peer="fulfillment")[^}]*\} [1-9]/,
    );
    flowed = true;
  });

  test('payment refuses any caller but fulfillment with a 403 naming the rule', async () => {
    const intruder = storefront.system.urlOf('intruder')!;
    const called = await json<{ status: number; body: string }>(
      await fetch(`${intruder}/call/payment/charges/x`),
    );
    assert.equal(called.status, 403, called.body);
    const problem = JSON.parse(called.body) as { type: string; rule: string };
    assert.equal(problem.type, 'urn:sluice:problem:forbidden');
    assert.equal(problem.rule, 'default');
  });
});
