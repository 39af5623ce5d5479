import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MeshEndpoint } from '../../../src/mesh/contract.js';
import { MeshControlClient } from '../../../src/mesh/control/client.js';
import { CertificateAuthority } from '../../../src/mesh/identity/authority.js';
import { nextValue, tempDir, trustDomain } from '../support.js';

const cli = fileURLToPath(new URL('../../../dist/cli/main.js', import.meta.url));

/** A store prefix no other run uses. */
export const uniquePrefix = () => `meshctl_${randomBytes(4).toString('hex')}`;

/** `sluice mesh control` as its own process; resolves with its URL once it listens. */
async function startPlane(args: string[], children: ChildProcess[]): Promise<string> {
  const child = spawn(
    process.execPath,
    [cli, 'mesh', 'control', '--listen', '127.0.0.1:0', ...args],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  let output = '';
  child.stderr.on('data', (chunk) => (output += chunk));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      if (process.env.MESHCTL_DEBUG) process.stderr.write(chunk);
      output += chunk;
      const match = /control plane on (http:\/\/\S+)/.exec(output);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) =>
      reject(new Error(`the control plane exited (${code}):\n${output}`)),
    );
  });
}

const instancesOf = (list: readonly MeshEndpoint[]) => list.map((e) => e.instance).join(',');

/**
 * Two control-plane processes on one engine: a registration through one shows in a watch
 * through the other, an instance that stops heartbeating expires, and one whose control
 * plane was killed expires too, while the other process goes on serving.
 */
export async function twoControlPlanes(store: string, prefix: string): Promise<void> {
  const dir = tempDir();
  const caDir = join(dir, 'ca');
  const common = [
    '--store',
    store,
    '--store-prefix',
    prefix,
    '--ca-dir',
    caDir,
    '--trust-domain',
    trustDomain,
  ];
  const children: ChildProcess[] = [];
  const clients: MeshControlClient[] = [];
  try {
    const [a, b] = await Promise.all([
      startPlane([...common, '--registration-ttl', '1s'], children),
      startPlane([...common, '--registration-ttl', '1s'], children),
    ]);
    // The same directory: the same CA and token secret as the two processes.
    const ca = await CertificateAuthority.open({ dir: caDir, trustDomain });
    const connect = async (url: string, service: string) => {
      const token = await ca.tokens.bootstrap(service, { instance: `${service}-0` });
      const client = await MeshControlClient.connect({ url, token, service, trustDomain });
      clients.push(client);
      return client;
    };
    const watcher = await connect(b, 'fulfillment');
    const keep = watcher.watch('payment', () => {});
    const seen = (expected: string) =>
      nextValue<readonly MeshEndpoint[], true>(
        (listener) => watcher.watch('payment', listener),
        (list) => (instancesOf(list) === expected ? true : undefined),
      );
    await seen('');

    // Registered through A with no heartbeat after: seen through B, then expired.
    const token = await ca.tokens.bootstrap('payment', { instance: 'payment-9' });
    const appeared = seen('payment-9');
    const put = await fetch(`${a}/v1/services/payment/instances/payment-9`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ address: '10.0.0.9:7001', labels: { version: 'v2' } }),
    });
    assert.equal(put.status, 200);
    await appeared;
    const [entry] = await nextValue<readonly MeshEndpoint[], readonly MeshEndpoint[]>(
      (listener) => watcher.watch('payment', listener),
      (list) => list,
    );
    assert.deepEqual(entry, {
      service: 'payment',
      instance: 'payment-9',
      address: '10.0.0.9:7001',
      labels: { version: 'v2' },
      healthy: true,
    });
    await seen('');

    // A live instance heartbeating through A; A dies, the heartbeats stop, B drops it.
    const payment = await connect(a, 'payment');
    const live = seen('payment-0');
    await payment.register({
      service: 'payment',
      instance: 'payment-0',
      address: '10.0.0.1:7001',
      labels: {},
      healthy: true,
    });
    await live;
    const planeA = children[0]!;
    planeA.kill('SIGKILL');
    await once(planeA, 'exit');
    await seen('');
    keep();
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
    }
  }
}
