import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GatewayComponent, type System, startSystem } from '../../src/runtime/index.js';
import { memoryLog, storefrontConfig, storefrontDir } from './system.js';

interface Order {
  id: string;
  status: string;
}

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function json<T>(res: Response): Promise<T> {
  const text = await res.text();
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`expected JSON, got ${res.status}: ${text}`);
  }
}

describe('the storefront, end to end', { timeout: 180_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-storefront-'));
  const log = memoryLog();
  let system: System;
  let gateway: GatewayComponent;
  let gatewayUrl: string;
  // Set once the main flow passed: otherwise the merged log is printed to help the reader.
  let flowed = false;

  const login = async (): Promise<string> => {
    const res = await fetch(`${gatewayUrl}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: 'alice-password' }),
    });
    assert.equal(res.status, 200);
    return (await json<{ token: string }>(res)).token;
  };

  before(async () => {
    const config = await storefrontConfig(dataDir);
    gateway = new GatewayComponent(config.gateway!, { baseDir: storefrontDir });
    system = startSystem(config, {
      cwd: storefrontDir,
      env: { ...process.env, SLUICE_DATA: dataDir },
      logs: log.sink,
      components: () => [gateway],
    });
    await system.ready;
    gatewayUrl = gateway.url!;
  });

  after(async () => {
    // Unset when the configuration could not even be loaded.
    const running = system as System | undefined;
    const pids = running?.instances.map((i) => i.pid) ?? [];
    await running?.stop({ drainTimeout: 10_000 });
    if (!flowed) process.stderr.write(log.text());
    rmSync(dataDir, { recursive: true, force: true });
    assert.deepEqual(
      pids.filter((pid) => alive(pid)),
      [],
      'every service process has exited',
    );
  });

  test('login, browse, order three times with one key: one order, fulfilled once', async () => {
    const token = await login();

    const first = await fetch(`${gatewayUrl}/api/products`);
    assert.equal(first.status, 200);
    const products = await json<{ sku: string }[]>(first);
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

    await eventually('the order is fulfilled', async () => {
      const res = await fetch(`${gatewayUrl}/api/orders/${id}`, { headers: auth });
      const order = await json<Order>(res);
      return order.status === 'fulfilled' ? order : undefined;
    });
    const changes = await eventually('inventory has changed', async () => {
      const res = await fetch(`${system.urlOf('inventory')}/changes/${id}`);
      const rows = await json<unknown[]>(res);
      return rows.length > 0 ? rows : undefined;
    });
    const invoices = await eventually('billing has an invoice', async () => {
      const res = await fetch(`${system.urlOf('billing')}/invoices/${id}`);
      const rows = await json<unknown[]>(res);
      return rows.length > 0 ? rows : undefined;
    });
    assert.equal(changes.length, 1, 'one stock change');
    assert.equal(invoices.length, 1, 'one invoice');
    flowed = true;
  });

  test("payment's latency and error rate change at run time", async () => {
    const payment = system.urlOf('payment')!;
    const setFault = async (fault: { latencyMs: number; errorRate: number }) => {
      const res = await fetch(`${payment}/fault`, { method: 'POST', body: JSON.stringify(fault) });
      assert.deepEqual(await json(res), fault);
    };
    const charge = async () => {
      const res = await fetch(`${payment}/charges`, {
        method: 'POST',
        body: JSON.stringify({ orderId: 'fault-probe', amount: 1 }),
      });
      await res.arrayBuffer();
      return res.status;
    };
    await setFault({ latencyMs: 0, errorRate: 1 });
    assert.equal(await charge(), 503);
    await setFault({ latencyMs: 0, errorRate: 0 });
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
    await eventually('the payment breaker is open', async () => {
      const text = await (await fetch(`${system.urlOf('fulfillment')}/metrics`)).text();
      return /sluice_breaker_state\{[^}]*state="open"[^}]*\} 1/.test(text) ? true : undefined;
    });
    await fault(0);
    for (const id of ids) {
      await eventually(`order ${id} is fulfilled`, async () => {
        const res = await fetch(`${gatewayUrl}/api/orders/${id}`, {
          headers: { authorization: `Bearer ${token}` },
        });
        return (await json<Order>(res)).status === 'fulfilled' ? true : undefined;
      });
      const invoices = await eventually(`order ${id} is invoiced`, async () => {
        const rows = await json<unknown[]>(
          await fetch(`${system.urlOf('billing')}/invoices/${id}`),
        );
        return rows.length > 0 ? rows : undefined;
      });
      assert.equal(invoices.length, 1);
    }
  });
});
