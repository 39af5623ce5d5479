import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { connect } from '../../src/messaging/index.js';
import { json, login, patiently } from '../storefront/running.js';
import { waitFor } from '../support/wait-for.js';
import { launchChromium, SCREENSHOTS } from './browser.js';
import { type DashboardStorefront, startDashboardStorefront } from './storefront.js';

const shot = (name: string) => fileURLToPath(new URL(`${name}.png`, SCREENSHOTS));

describe('the dashboard in a browser, against a running storefront', { timeout: 300_000 }, () => {
  let running: DashboardStorefront;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let base: string;
  let gatewayUrl: string;
  let auth: Record<string, string>;
  let passed = 0;
  const requests: string[] = [];

  async function placeOrder(key: string): Promise<string> {
    const res = await fetch(`${gatewayUrl}/api/orders`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify({ items: [{ sku: 'kettle', qty: 1 }] }),
    });
    assert.equal(res.status, 201, await res.clone().text());
    return (await json<{ id: string }>(res)).id;
  }

  /** Reloads `path` until `probe` finds what it waits for on the page. */
  async function untilShown(
    path: string,
    what: string,
    probe: () => Promise<boolean>,
  ): Promise<void> {
    try {
      await waitFor(
        what,
        async () => {
          await page.goto(`${base}${path}`);
          return (await probe()) ? true : undefined;
        },
        patiently,
      );
    } catch (error) {
      process.stderr.write(`${path} showed:\n${await page.locator('main').textContent()}\n`);
      throw error;
    }
  }

  before(async () => {
    running = await startDashboardStorefront();
    base = running.dashboard.url!;
    gatewayUrl = running.storefront.gatewayUrl;
    auth = { authorization: `Bearer ${await login(gatewayUrl, 'alice')}` };
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    page = await context.newPage();
    page.on('request', (request) => requests.push(request.url()));
    page.on('dialog', (dialog) => void dialog.accept());
    const id = await placeOrder('dashboard-1');
    const inventory = running.storefront.system.urlOf('inventory')!;
    await waitFor(
      'inventory applied the order',
      async () => {
        const changes = await json<unknown[]>(await fetch(`${inventory}/changes/${id}`));
        return changes.length > 0 ? true : undefined;
      },
      patiently,
    );
  });

  after(async () => {
    await browser?.close();
    const left = (await running?.stop()) ?? [];
    assert.deepEqual(left, [], 'every service process has exited');
    void passed;
  });

  test('a placed order shows up as one trace whose waterfall crosses the queue hop', async () => {
    await untilShown(
      '/traces?service=fulfillment&attr=messaging.destination.name%3Dorders',
      'the order trace is listed',
      async () => (await page.locator('#live a[href^="/traces/"]').count()) > 0,
    );
    await page.screenshot({ path: shot('traces') });
    await page.locator('#live a[href^="/traces/"]').first().click();
    await page.waitForSelector('table.wf');
    await waitFor(
      'the whole order reached the store',
      async () => {
        await page.reload();
        const text = (await page.locator('table.wf').textContent()) ?? '';
        return ['inventory', 'billing', 'payment'].every((s) => text.includes(s))
          ? true
          : undefined;
      },
      patiently,
    );
    const hop = page.locator('tr.hop', { hasText: 'queue hop through orders' });
    assert.ok((await hop.count()) >= 1, 'the waterfall marks the queue hop');
    const rows = await page
      .locator('table.wf tbody tr:not(.hop) td:first-child summary')
      .allInnerTexts();
    const send = rows.findIndex((r) => r.startsWith('send orders'));
    const process = rows.findIndex((r) => r.startsWith('process orders'));
    assert.ok(send >= 0 && process > send, `send before process in ${rows.join(' | ')}`);
    assert.ok(
      (await page.locator('.split section:nth-child(2) tbody tr').count()) > 0,
      'the trace has its logs',
    );
    await page.screenshot({ path: shot('trace'), fullPage: true });
  });

  test('every page renders with live data', async () => {
    const checks: Array<[string, string, () => Promise<boolean>]> = [
      ['logs', 'log lines', async () => (await page.locator('#log-lines tr').count()) > 0],
      [
        'services',
        'instances with pids',
        async () => (await page.locator('#service-payment td', { hasText: 'ready' }).count()) > 0,
      ],
      [
        'queues',
        'the orders queue',
        async () =>
          (await page.locator('#live td', { hasText: 'orders' }).count()) > 0 &&
          (await page.locator('#live .chart .uplot').count()) > 0,
      ],
      [
        'topology',
        'a graph with traffic',
        async () =>
          (await page.locator('.topo g.edge text').count()) > 0 &&
          (await page.locator('.topo g.node.queue').count()) > 0,
      ],
      [
        'policies',
        'the payment breaker',
        async () => (await page.locator('tr[data-breaker="payment"]').count()) > 0,
      ],
      [
        'gateway',
        'route counts',
        async () => (await page.locator('#live td', { hasText: 'place-order' }).count()) > 0,
      ],
    ];
    for (const [name, what, probe] of checks) {
      await untilShown(`/${name}`, `${name} shows ${what}`, probe);
      await page.screenshot({ path: shot(name), fullPage: name !== 'logs' });
    }
    // The tail: a new order's lines arrive over the stream without a reload.
    await page.goto(`${base}/logs`);
    const before = await page.locator('#log-lines tr').count();
    await placeOrder('dashboard-tail');
    await waitFor(
      'the new lines arrive over the stream',
      async () => ((await page.locator('#log-lines tr').count()) > before ? true : undefined),
      patiently,
    );
    const offsite = requests.filter((url) => !url.startsWith(base));
    assert.deepEqual(offsite, [], 'the pages fetch nothing from anywhere else');
  });

  test('a poisoned message appears on the dead-letter page and replays', async () => {
    const broker = await connect({
      driver: 'sqlite',
      url: running.storefront.system.config.messaging!.url!,
    });
    try {
      await broker
        .queue('orders')
        .publish({ id: 'poison-pill', items: [], total: 1 }, { id: 'dashboard-poison' });
      await untilShown(
        '/queues?source=queue%3Aorders&q=poison-pill',
        'the poisoned message is dead-lettered',
        async () => (await page.locator('#dlq td', { hasText: 'dashboard-poison' }).count()) > 0,
      );
      await page.screenshot({ path: shot('dead-letters'), fullPage: true });
      // Read-only without the token.
      await page.locator('#dlq input[name="id"][value="dashboard-poison"]').check();
      await page.locator('#dlq button', { hasText: 'Replay selected' }).click();
      await page.locator('#action-result', { hasText: 'control token' }).waitFor();
      await page.fill('#token-form input[name="token"]', running.dashboard.token);
      await page.click('#token-form button');
      await page.locator('#dlq input[name="id"][value="dashboard-poison"]').check();
      await page.locator('#dlq button', { hasText: 'Replay selected' }).click();
      await page
        .locator('#action-result', { hasText: '1 dead letter replayed from queue:orders' })
        .waitFor();
    } finally {
      await broker.close();
    }
  });

  test('the breaker turns open on the Policies page when payment fails', async () => {
    await page.goto(`${base}/services`);
    await page.fill('#token-form input[name="token"]', running.dashboard.token);
    await page.click('#token-form button');
    await page.selectOption('form[hx-post="/actions/fault"] select[name="service"]', 'payment');
    await page.fill('form[hx-post="/actions/fault"] input[name="errorRate"]', '1');
    await page.click('form[hx-post="/actions/fault"] button:text("Set")');
    await page.locator('#action-result', { hasText: 'Fault set' }).waitFor();
    const res = await fetch(`${running.storefront.system.urlOf('payment')}/fault`, {
      method: 'POST',
      body: '{}',
    });
    assert.equal((await json<{ errorRate: number }>(res)).errorRate, 1, 'the page set the fault');
    for (let i = 0; i < 8; i++) await placeOrder(`dashboard-outage-${i}`);
    await untilShown(
      '/policies',
      'the payment breaker is open',
      async () =>
        (await page.locator('tr[data-breaker="payment"] .badge.err', { hasText: 'open' }).count()) >
        0,
    );
    await page.screenshot({ path: shot('policies-open'), fullPage: true });
    await page.goto(`${base}/services`);
    await page.selectOption('form[hx-post="/actions/fault"] select[name="service"]', 'payment');
    await page.click('form[hx-post="/actions/fault"] button:text("Clear")');
    await page.locator('#action-result', { hasText: '"errorRate":0' }).waitFor();
    passed++;
  });
});
