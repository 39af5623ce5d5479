import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { parseFaultArgs, runFault } from '../../src/cli/fault.js';
import { isSluiceError } from '../../src/core/index.js';
import { fetchSystemStatus, type System } from '../../src/runtime/index.js';
import { freePort } from '../../src/runtime/ports.js';
import { waitFor } from '../support/wait-for.js';
import {
  alive,
  chargeStatus,
  json,
  login,
  type Order,
  patiently,
  type RunningStorefront,
  runSluice,
  startStorefront,
} from './running.js';

describe('parseFaultArgs', () => {
  const usage = (args: string[], message: RegExp) =>
    assert.throws(
      () => parseFaultArgs(args),
      (error) => isSluiceError(error, 'SLUICE_USAGE') && message.test(error.message),
      args.join(' '),
    );

  test('reads a fault, a clear and a kill', () => {
    assert.deepEqual(parseFaultArgs(['payment', '--latency', '2s', '--error-rate', '0.5']), {
      service: 'payment',
      action: { kind: 'fault', fault: { latencyMs: 2000, errorRate: 0.5 } },
      instance: undefined,
      control: undefined,
      file: 'sluice.yaml',
    });
    const rate = parseFaultArgs(['payment', '--error-rate', '25%', '-f', 'x.yaml']);
    assert.deepEqual(
      [rate.action, rate.file],
      [{ kind: 'fault', fault: { errorRate: 0.25 } }, 'x.yaml'],
    );
    const decline = parseFaultArgs(['payment', '--decline-rate', '1']);
    assert.deepEqual(decline.action, { kind: 'fault', fault: { declineRate: 1 } });
    const clear = parseFaultArgs(['payment', '--clear', '--instance', '1']);
    assert.deepEqual(
      [clear.action, clear.instance],
      [{ kind: 'fault', fault: { latencyMs: 0, errorRate: 0, declineRate: 0 } }, 1],
    );
    const kill = parseFaultArgs(['fulfillment', '--kill', '--control', 'http://127.0.0.1:9465']);
    assert.deepEqual([kill.action, kill.control], [{ kind: 'kill' }, 'http://127.0.0.1:9465/']);
  });

  test('refuses what it cannot read, naming the option', () => {
    usage(['--latency', '2s'], /fault needs one service \(got 0\)/);
    usage(['payment', 'orders', '--kill'], /fault needs one service \(got 2\)/);
    usage(
      ['payment'],
      /fault needs something to do: --latency\/--error-rate\/--decline-rate, --clear or --kill/,
    );
    usage(['payment', '--kill', '--clear'], /takes one thing to do at a time/);
    usage(['payment', '--latency', '2s', '--kill'], /takes one thing to do at a time/);
    usage(['payment', '--latency', 'slow'], /--latency: expected a duration such as 2s/);
    usage(['payment', '--error-rate', '2'], /--error-rate: expected a fraction from 0 to 1/);
    usage(['payment', '--error-rate', '150%'], /--error-rate: .* got "150%"/);
    usage(['payment', '--decline-rate=-1'], /--decline-rate: .* got "-1"/);
    usage(['payment', '--kill', '--instance', 'first'], /--instance: expected an instance number/);
    usage(['payment', '--kill', '--control', 'nowhere'], /--control: expected a URL/);
    usage(['payment', '--kill', '-f', 'a.yaml', '--control', 'http://x'], /not both/);
    assert.throws(() => parseFaultArgs(['payment', '--latncy', '2s']), /--latncy/);
  });
});

describe('sluice fault against the running storefront', { timeout: 150_000 }, () => {
  let storefront: RunningStorefront;
  let system: System;
  let gatewayUrl: string;
  let control: string;
  let passed = 0;

  before(async () => {
    storefront = await startStorefront({
      configure: (config) => {
        config.control = { port: 0 };
      },
    });
    ({ system, gatewayUrl } = storefront);
    control = system.controlUrl!;
  });

  after(async () => {
    const left = await storefront?.stop({ showLog: passed < 4 });
    assert.deepEqual(left ?? [], [], 'every service process has exited');
  });

  /** `sluice fault ARGS` in this process, against this system: what it printed. */
  const fault = async (...args: string[]): Promise<string> => {
    const lines: string[] = [];
    const output = {
      out: (line: string) => lines.push(line),
      err: (line: string) => lines.push(line),
    };
    assert.equal(await runFault([...args, '--control', control], output), 0);
    return lines.join('\n');
  };
  const refused = (args: string[], code: string, message: RegExp) =>
    assert.rejects(runFault(args), (error) => {
      assert.ok(isSluiceError(error, code), `${code}: ${String(error)}`);
      assert.match(error.message, message);
      return true;
    });
  /**
   * Places `count` orders at once, each as a careful client would: an answer that says "try
   * again" (429, 502-504) is waited out by its Retry-After, then sent again with the same key.
   */
  const placeOrders = (token: string, prefix: string, count: number): Promise<string[]> =>
    Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const deadline = Date.now() + 60_000;
        for (;;) {
          const res = await fetch(`${gatewayUrl}/api/orders`, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${token}`,
              'content-type': 'application/json',
              'idempotency-key': `${prefix}-${i}`,
            },
            body: JSON.stringify({ items: [{ sku: 'mug-blue', qty: 1 }] }),
          });
          const body = await res.text();
          if (res.status === 201 || res.status === 200) return (JSON.parse(body) as Order).id;
          if (![429, 502, 503, 504].includes(res.status) || Date.now() > deadline) {
            assert.fail(`order ${prefix}-${i}: ${res.status} ${body}`);
          }
          await sleep(Number(res.headers.get('retry-after') ?? 1) * 1000);
        }
      }),
    );
  /** The order as its owner reads it, waiting out the per-user rate limit on reads. */
  const orderOf = async (token: string, id: string): Promise<Order> => {
    for (;;) {
      const res = await fetch(`${gatewayUrl}/api/orders/${id}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      if (res.status !== 429) return json<Order>(res);
      await res.body?.cancel();
      await sleep(Number(res.headers.get('retry-after') ?? 1) * 1000);
    }
  };
  const rows = async (service: string, path: string): Promise<unknown[]> =>
    json<unknown[]>(await fetch(`${system.urlOf(service)}${path}`));
  /** Every order fulfilled, with one charge of its total, one invoice and one stock change. */
  const assertEachCompletedOnce = async (token: string, ids: string[]): Promise<void> => {
    for (const id of ids) {
      const order = await waitFor(
        `order ${id} is fulfilled`,
        async () => {
          const now = await orderOf(token, id);
          return now.status === 'fulfilled' ? now : undefined;
        },
        patiently,
      );
      const invoices = await waitFor(
        `order ${id} is invoiced`,
        async () => {
          const found = await rows('billing', `/invoices/${id}`);
          return found.length > 0 ? found : undefined;
        },
        patiently,
      );
      const changes = await waitFor(
        `stock has changed for order ${id}`,
        async () => {
          const found = await rows('inventory', `/changes/${id}`);
          return found.length > 0 ? found : undefined;
        },
        patiently,
      );
      const charge = await fetch(`${system.urlOf('payment')}/charges/${id}`);
      assert.equal(charge.status, 200, `order ${id} is charged`);
      assert.deepEqual(await charge.json(), { orderId: id, amount: order.total }, 'charged once');
      assert.equal(invoices.length, 1, `one invoice for order ${id}`);
      assert.equal(changes.length, 1, `one stock change for order ${id}`);
    }
  };
  const paymentBreakerOpen = async (): Promise<boolean> => {
    const text = await (await fetch(`${system.urlOf('fulfillment')}/metrics`)).text();
    return /sluice_breaker_state\{(?=[^}]*name="payment")(?=[^}]*state="open")[^}]*\} 1$/m.test(
      text,
    );
  };

  test('says clearly what is wrong: unknown service, no /fault, no system, no file', async () => {
    await refused(
      ['paymnt', '--clear', '--control', control],
      'SLUICE_INVALID_ARGUMENT',
      /unknown service "paymnt" \(the system runs: auth, catalog, /,
    );
    await refused(
      ['catalog', '--latency', '1s', '--control', control],
      'SLUICE_UNSUPPORTED',
      /catalog takes no faults: POST http:\S+\/fault answered 404/,
    );
    await refused(
      ['payment', '--clear', '--instance', '1', '--control', control],
      'SLUICE_INVALID_ARGUMENT',
      /payment has no instance 1 \(its instances: 0\)/,
    );
    const nothing = `http://127.0.0.1:${await freePort('127.0.0.1')}`;
    await refused(
      ['payment', '--clear', '--control', nothing],
      'SLUICE_SYSTEM_UNREACHABLE',
      /no system answers at http:\/\/127\.0\.0\.1:\d+\/: is "sluice up" running/,
    );

    const file = join(storefront.dataDir, 'stopped.yaml');
    writeFileSync(file, stringify({ version: 1, control: { port: await freePort('127.0.0.1') } }));
    await refused(
      ['payment', '--clear', '-f', file],
      'SLUICE_SYSTEM_UNREACHABLE',
      /no system answers at .*: start it with "sluice up .*stopped\.yaml"/,
    );
    writeFileSync(file, stringify({ version: 1 }));
    await refused(
      ['payment', '--clear', '-f', file],
      'SLUICE_INVALID_ARGUMENT',
      /declares no control API: add "control: \{ port: 9465 \}"/,
    );
    await refused(
      ['payment', '--clear', '-f', join(storefront.dataDir, 'sluice.yaml')],
      'SLUICE_INVALID_ARGUMENT',
      /sluice\.yaml not found: .*pass -f FILE or --control URL/,
    );

    // The command itself, in a process of its own: exit 1, saying why.
    const unknown = await runSluice(['fault', 'paymnt', '--clear', '--control', control]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^sluice: unknown service "paymnt"/);

    const payment = await json<Record<string, number>>(
      await fetch(`${system.urlOf('payment')}/fault`),
    );
    assert.deepEqual([payment.latencyMs, payment.errorRate], [0, 0], 'nothing was changed');
    assert.ok(
      system.instances.every((i) => i.restarts === 0),
      'nothing was killed',
    );
    passed++;
  });

  test("sets payment's latency and error rate, and clears them", async () => {
    const payment = system.urlOf('payment')!;
    const current = async () => json<Record<string, number>>(await fetch(`${payment}/fault`));
    const charge = () => chargeStatus(payment);

    const slowed = await fault('payment', '--latency', '250ms', '--error-rate', '0.5');
    assert.match(slowed, /^payment fault is now latencyMs 250, errorRate 0\.5\b/);
    assert.deepEqual([(await current()).latencyMs, (await current()).errorRate], [250, 0.5]);

    await fault('payment', '--error-rate', '100%');
    assert.equal((await current()).latencyMs, 250, 'the latency is left as it was');
    assert.equal(await charge(), 503);

    // Found through the file the system runs, as a user would: its control port.
    const file = join(storefront.dataDir, 'running.yaml');
    writeFileSync(
      file,
      stringify({ version: 1, control: { port: Number(new URL(control).port) } }),
    );
    const printed: string[] = [];
    const output = { out: (line: string) => printed.push(line), err: () => {} };
    assert.equal(await runFault(['payment', '--clear', '-f', file], output), 0);
    assert.deepEqual(printed, ['payment fault is now latencyMs 0, errorRate 0, declineRate 0']);
    assert.equal(await charge(), 201);
    passed++;
  });

  test('payment slowed to 2 s: the breaker opens, catalog and login still answer, orders wait and complete once each', async () => {
    const token = await login(gatewayUrl, 'alice');
    await fault('payment', '--latency', '2s');
    const ids = await placeOrders(token, 'slow', 12);

    await waitFor(
      "fulfillment's payment breaker is open",
      async () => ((await paymentBreakerOpen()) ? true : undefined),
      patiently,
    );
    // Orders cannot go through while every charge outlasts fulfillment's 1 s timeout...
    // (Under heavy CPU load the gateway's 1 s timeout for the catalog may trip on its own:
    // what matters is that the catalog answers.)
    const product = await waitFor(
      'the catalog answers through the gateway',
      async () => {
        const res = await fetch(`${gatewayUrl}/api/products/tea-green`);
        return res.status === 200 ? json<{ sku: string }>(res) : void (await res.arrayBuffer());
      },
      patiently,
    );
    assert.equal(product.sku, 'tea-green');
    assert.ok((await login(gatewayUrl, 'alice')).length > 0, 'login answers');
    // ...and they were all still waiting while catalog and login answered.
    for (const id of ids) assert.equal((await orderOf(token, id)).status, 'pending');

    await fault('payment', '--clear');
    await assertEachCompletedOnce(token, ids);
    await waitFor(
      'the breaker closes again',
      async () => ((await paymentBreakerOpen()) ? undefined : true),
      patiently,
    );
    passed++;
  });

  test('fulfillment killed mid-stream is restarted, and every order completes exactly once', async () => {
    const token = await login(gatewayUrl, 'alice');
    // Each charge takes 400 ms, under the breaker's 500 ms slow-call mark: the orders flow,
    // four at a time, for several seconds after the first is fulfilled.
    await fault('payment', '--latency', '400ms');
    const ids = await placeOrders(token, 'kill', 36);
    const statuses = async () =>
      Promise.all(ids.map(async (id) => (await orderOf(token, id)).status));
    await waitFor(
      'the first order is fulfilled',
      async () => ((await statuses()).includes('fulfilled') ? true : undefined),
      patiently,
    );
    const before = (await fetchSystemStatus(control)).services.fulfillment!.instances[0]!;
    const pid = before.pid;
    assert.ok(pid !== undefined, 'fulfillment is running');

    const killed = await fault('fulfillment', '--kill');
    assert.match(
      killed,
      new RegExp(`^killed fulfillment \\(pid ${pid}\\); the supervisor restarts it`),
    );
    assert.ok((await statuses()).includes('pending'), 'some orders were still to fulfil');

    await waitFor(
      'fulfillment is restarted and ready',
      async () => {
        const now = (await fetchSystemStatus(control)).services.fulfillment!.instances[0]!;
        const back = now.restarts === before.restarts + 1 && now.state === 'ready';
        return back && now.pid !== pid ? true : undefined;
      },
      patiently,
    );
    assert.equal(alive(pid), false, 'the killed process is gone');
    await fault('payment', '--clear');
    await assertEachCompletedOnce(token, ids);
    passed++;
  });
});
