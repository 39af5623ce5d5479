import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect } from '../../src/messaging/index.js';
import type { System } from '../../src/runtime/index.js';
import { waitFor } from '../support/wait-for.js';
import {
  chargeStatus,
  json,
  login as loginAs,
  type Order,
  patiently,
  type RunningStorefront,
  startStorefront,
} from './running.js';

describe('the storefront, end to end', { timeout: 180_000 }, () => {
  let storefront: RunningStorefront;
  let system: System;
  let gatewayUrl: string;
  let dataDir: string;
  // Set once the main flow passed: otherwise the merged log is printed to help the reader.
  let flowed = false;

  // Logins are limited to 5 a minute per client address: the tests share one token.
  let token: string | undefined;
  const login = async (): Promise<string> => {
    token ??= await freshLogin();
    return token;
  };
  const freshLogin = () => loginAs(gatewayUrl, 'alice');

  before(async () => {
    storefront = await startStorefront();
    ({ system, gatewayUrl, dataDir } = storefront);
  });

  after(async () => {
    // Unset when the storefront did not start.
    const left = await (storefront as RunningStorefront | undefined)?.stop({ showLog: !flowed });
    assert.deepEqual(left ?? [], [], 'every service process has exited');
  });

  test('login, browse, order three times with one key: one order, fulfilled once', async () => {
    const token = await login();

    const first = await fetch(`${gatewayUrl}/api/products`);
    assert.equal(first.status, 200);
    const products = await json<{ sku: string; price: number }[]>(first);
    assert.ok(products.length > 0);
    const second = await fetch(`${gatewayUrl}/api/products`);
    await second.arrayBuffer();
    assert.match(second.headers.get('cache-status') ?? '', /\bhit\b/);

    const auth = { authorization: `Bearer ${token}` };
    const anonymous = await fetch(`${gatewayUrl}/api/orders/x`);
    await anonymous.arrayBuffer();
    assert.equal(anonymous.status, 401);

    const place = () =>
      fetch(`${gatewayUrl}/api/orders`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json', 'idempotency-key': 'e2e-1' },
        body: JSON.stringify({ items: [{ sku: products[0]!.sku, qty: 2 }] }),
      });
    const placed: { status: number; order: Order }[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await place();
      placed.push({ status: res.status, order: await json<Order>(res) });
    }
    assert.deepEqual(
      placed.map((p) => p.status),
      [201, 200, 200],
    );
    const id = placed[0]!.order.id;
    assert.ok(
      placed.every((p) => p.order.id === id),
      'one order for one key',
    );
    const reused = await fetch(`${gatewayUrl}/api/orders`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', 'idempotency-key': 'e2e-1' },
      body: JSON.stringify({ items: [{ sku: products[0]!.sku, qty: 3 }] }),
    });
    assert.equal(reused.status, 422, 'a key reused for other items is refused');
    assert.equal((await json<{ order: string }>(reused)).order, id);
    const total = placed[0]!.order.total;
    assert.equal(total, products[0]!.price * 2, "the total is the catalog's price × qty");

    await waitFor(
      'the order is fulfilled',
      async () => {
        const res = await fetch(`${gatewayUrl}/api/orders/${id}`, { headers: auth });
        const order = await json<Order>(res);
        return order.status === 'fulfilled' ? order : undefined;
      },
      patiently,
    );
    // Another customer's order is as absent as a missing one, whatever x-user-id says.
    const bob = { authorization: `Bearer ${await loginAs(gatewayUrl, 'bob')}` };
    for (const headers of [bob, { ...bob, 'x-user-id': 'alice' }]) {
      const probe = await fetch(`${gatewayUrl}/api/orders/${id}`, { headers });
      assert.equal(probe.status, 404, "bob cannot read alice's order");
      assert.doesNotMatch(await probe.text(), new RegExp(id));
    }
    const changes = await waitFor(
      'inventory has changed',
      async () => {
        const res = await fetch(`${system.urlOf('inventory')}/changes/${id}`);
        const rows = await json<unknown[]>(res);
        return rows.length > 0 ? rows : undefined;
      },
      patiently,
    );
    const invoices = await waitFor(
      'billing has an invoice',
      async () => {
        const res = await fetch(`${system.urlOf('billing')}/invoices/${id}`);
        const rows = await json<unknown[]>(res);
        return rows.length > 0 ? rows : undefined;
      },
      patiently,
    );
    assert.equal(changes.length, 1, 'one stock change');
    assert.equal(invoices.length, 1, 'one invoice');
    assert.equal((invoices[0] as { amount: number }).amount, total, 'the invoice is for the total');
    flowed = true;
  });

  test("payment's latency and error rate change at run time", async () => {
    const payment = system.urlOf('payment')!;
    const setFault = async (fault: {
      latencyMs: number;
      errorRate: number;
      declineRate: number;
    }) => {
      const res = await fetch(`${payment}/fault`, { method: 'POST', body: JSON.stringify(fault) });
      assert.deepEqual(await json(res), fault);
    };
    const charge = () => chargeStatus(payment);
    await setFault({ latencyMs: 0, errorRate: 1, declineRate: 0 });
    assert.equal(await charge(), 503);
    await setFault({ latencyMs: 0, errorRate: 0, declineRate: 1 });
    assert.equal(await charge(), 402);
    await setFault({ latencyMs: 0, errorRate: 0, declineRate: 0 });
    assert.equal(await charge(), 201);
  });
  test('a failing payment opens the breaker; orders wait and complete once it recovers', async () => {
    const token = await login();
    const payment = system.urlOf('payment')!;
    const fault = (errorRate: number) =>
      fetch(`${payment}/fault`, { method: 'POST', body: JSON.stringify({ errorRate }) }).then(
        (res) => res.arrayBuffer(),
      );
    await fault(1);
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${gatewayUrl}/api/orders`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'idempotency-key': `breaker-${i}`,
        },
        body: JSON.stringify({ items: [{ sku: 'mug-blue', qty: 1 }] }),
      });
      assert.equal(res.status, 201);
      ids.push((await json<Order>(res)).id);
    }
    await waitFor(
      'the payment breaker is open',
      async () => {
        const text = await (await fetch(`${system.urlOf('fulfillment')}/metrics`)).text();
        return /sluice_breaker_state\{[^}]*state="open"[^}]*\} 1/.test(text) ? true : undefined;
      },
      patiently,
    );
    await fault(0);
    for (const id of ids) {
      await waitFor(
        `order ${id} is fulfilled`,
        async () => {
          const res = await fetch(`${gatewayUrl}/api/orders/${id}`, {
            headers: { authorization: `Bearer ${token}` },
          });
          return (await json<Order>(res)).status === 'fulfilled' ? true : undefined;
        },
        patiently,
      );
      const invoices = await waitFor(
        `order ${id} is invoiced`,
        async () => {
          const rows = await json<unknown[]>(
            await fetch(`${system.urlOf('billing')}/invoices/${id}`),
          );
          return rows.length > 0 ? rows : undefined;
        },
        patiently,
      );
      assert.equal(invoices.length, 1);
    }
  });
  const placeOrder = async (key: string, items: { sku: string; qty: number }[]) =>
    fetch(`${gatewayUrl}/api/orders`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await login()}`,
        'content-type': 'application/json',
        'idempotency-key': key,
      },
      body: JSON.stringify({ items }),
    });

  test('an unknown product is refused with 422, and its key stays free', async () => {
    const refused = await placeOrder('unknown-1', [{ sku: 'no-such-thing', qty: 1 }]);
    assert.equal(refused.status, 422);
    assert.match((await json<{ title: string }>(refused)).title, /no such product: no-such-thing/);
    const placed = await placeOrder('unknown-1', [{ sku: 'tea-black', qty: 1 }]);
    assert.equal(placed.status, 201, 'the refused request stored nothing under its key');
    await placed.arrayBuffer();
  });

  test('a declined payment is final: the order ends payment_failed, unbilled, stock untouched', async () => {
    const payment = system.urlOf('payment')!;
    const setDeclineRate = (declineRate: number) =>
      fetch(`${payment}/fault`, { method: 'POST', body: JSON.stringify({ declineRate }) }).then(
        (res) => res.arrayBuffer(),
      );
    await setDeclineRate(1);
    let id: string;
    try {
      const res = await placeOrder('declined-1', [{ sku: 'kettle', qty: 1 }]);
      assert.equal(res.status, 201);
      id = (await json<Order>(res)).id;
      await waitFor(
        'the order has failed',
        async () => {
          const order = await json<Order>(
            await fetch(`${gatewayUrl}/api/orders/${id}`, {
              headers: { authorization: `Bearer ${await login()}` },
            }),
          );
          return order.status === 'payment_failed' ? order : undefined;
        },
        patiently,
      );
    } finally {
      await setDeclineRate(0);
    }

    // Fulfillment publishes order.payment_failed before it marks the order, so the event is
    // in the topic now; both groups take it and, by design, neither bills nor takes stock.
    const broker = await connect({ driver: 'sqlite', url: join(dataDir, 'sluice.db') });
    try {
      for (const group of ['inventory', 'billing']) {
        const stats = await waitFor(
          `${group} has taken every event`,
          async () => {
            const stats = await broker.topic('order-events').stats(group);
            return stats.depth === 0 && stats.inFlight === 0 ? stats : undefined;
          },
          patiently,
        );
        assert.equal(stats.deadLettered, 0, `${group} dead-lettered nothing`);
      }
    } finally {
      await broker.close();
    }
    assert.deepEqual(await json(await fetch(`${system.urlOf('billing')}/invoices/${id}`)), []);
    assert.deepEqual(await json(await fetch(`${system.urlOf('inventory')}/changes/${id}`)), []);
  });

  test('a restarted auth keeps its signing key: tokens from before and after both pass', async () => {
    const before = await login();
    assert.equal(statSync(join(dataDir, 'auth-signing-key.json')).mode & 0o777, 0o600);
    const first = system.instances.find((i) => i.service === 'auth')!;
    process.kill(first.pid!, 'SIGKILL');
    await waitFor(
      'auth has been restarted',
      async () => {
        const auth = system.instances.find((i) => i.service === 'auth')!;
        return auth.pid !== first.pid && auth.state === 'ready' ? auth : undefined;
      },
      patiently,
    );
    const after = await freshLogin();
    for (const [when, bearer] of [
      ['before', before],
      ['after', after],
    ]) {
      const res = await fetch(`${gatewayUrl}/api/orders/no-such-order`, {
        headers: { authorization: `Bearer ${bearer}` },
      });
      await res.arrayBuffer();
      assert.equal(res.status, 404, `the token from ${when} the restart is accepted`);
    }
  });
});
