import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ControlPlane } from '../../src/mesh/control/control-plane.js';
import { quiet, tempDir, trustDomain } from './support.js';

const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

interface Ready {
  inbound: number;
  upstreams: Record<string, number>;
}

/** `sluice sidecar` as its own process; resolves with the ports it prints once ready. */
function sidecar(args: string[], children: ChildProcess[]): Promise<Ready> {
  const child = spawn(
    process.execPath,
    [cli, 'sidecar', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', ...args],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  let output = '';
  child.stderr.on('data', (chunk) => (output += chunk));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const line = output.split('\n').find((l) => l.startsWith('{"sidecar"'));
      if (line !== undefined) resolve(JSON.parse(line) as Ready);
    });
    child.once('exit', (code) => reject(new Error(`the sidecar exited (${code}):\n${output}`)));
  });
}

describe('the control plane with real sidecars', () => {
  it("a call crosses two sidecars over mTLS with SVIDs from the control plane's CA", async () => {
    const dir = tempDir();
    const plane = await ControlPlane.start({
      store: join(dir, 'mesh.db'),
      caDir: join(dir, 'ca'),
      trustDomain,
      logger: quiet,
    });
    const app = createServer((req, res) =>
      res.end(`payment sees ${req.headers['x-sluice-peer-identity']}`),
    );
    app.listen(0, '127.0.0.1');
    await once(app, 'listening');
    const appPort = (app.address() as AddressInfo).port;
    const children: ChildProcess[] = [];
    try {
      const token = (service: string) =>
        plane.ca.tokens.bootstrap(service, { instance: `${service}-0` });
      const common = ['--control', plane.url, '--trust-domain', trustDomain];
      await sidecar(
        [
          ...common,
          '--service',
          'payment',
          '--instance',
          'payment-0',
          '--token',
          await token('payment'),
          '--app-port',
          String(appPort),
        ],
        children,
      );
      const caller = await sidecar(
        [
          ...common,
          '--service',
          'fulfillment',
          '--instance',
          'fulfillment-0',
          '--token',
          await token('fulfillment'),
          '--app-port',
          '1',
          '--upstream',
          'payment=0',
        ],
        children,
      );
      const registered = await plane.registry.endpoints('payment');
      assert.deepEqual(
        registered.endpoints.map((e) => e.instance),
        ['payment-0'],
      );
      const answer = await fetch(`http://127.0.0.1:${caller.upstreams.payment}/charge`);
      assert.equal(answer.status, 200);
      assert.equal(await answer.text(), `payment sees spiffe://${trustDomain}/svc/fulfillment`);
    } finally {
      for (const child of children) {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          await once(child, 'exit');
        }
      }
      app.close();
      await plane.close();
    }
  });
});
