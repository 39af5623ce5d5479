import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { freePort } from '../../src/runtime/ports.js';
import { waitFor } from '../support/wait-for.js';
import { storefrontDir } from './system.js';

const dataDir = mkdtempSync(join(tmpdir(), 'sluice-payment-'));
const children: ChildProcess[] = [];
after(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

/** Payment alone, on `port`, with its data in `dataDir`; resolves once it answers. */
async function startPayment(port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'payment/main.ts'], {
    cwd: storefrontDir,
    env: { ...process.env, PORT: String(port), SLUICE_DATA: dataDir },
    stdio: 'ignore',
  });
  children.push(child);
  await waitFor(
    'payment answers',
    async () =>
      child.exitCode === null &&
      (await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.ok,
        () => false,
      )),
    { timeoutMs: 30_000 },
  );
  return child;
}

const post = async (url: string, body: unknown): Promise<[number, unknown]> => {
  const res = await fetch(url, { method: 'POST', body: JSON.stringify(body) });
  return [res.status, await res.json()];
};

test('a charge survives a crash of payment: found again, not made twice, not declined', {
  timeout: 90_000,
}, async () => {
  const port = await freePort('127.0.0.1');
  const url = `http://127.0.0.1:${port}`;
  const first = await startPayment(port);
  assert.deepEqual(await post(`${url}/charges`, { orderId: 'rux-1', amount: 42 }), [
    201,
    { orderId: 'rux-1', amount: 42 },
  ]);

  first.kill('SIGKILL');
  await new Promise((resolve) => first.once('exit', resolve));
  await startPayment(port);

  const found = await fetch(`${url}/charges/rux-1`);
  assert.equal(found.status, 200);
  assert.deepEqual(await found.json(), { orderId: 'rux-1', amount: 42 });
  // Every new charge would be declined now; the one already made stands, unchanged.
  await post(`${url}/fault`, { declineRate: 1 });
  assert.deepEqual(await post(`${url}/charges`, { orderId: 'rux-1', amount: 99 }), [
    201,
    { orderId: 'rux-1', amount: 42 },
  ]);
  assert.equal((await post(`${url}/charges`, { orderId: 'rux-2', amount: 1 }))[0], 402);
  assert.equal((await fetch(`${url}/charges/rux-2`)).status, 404);
});
