import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseSluiceConfig, startSystem } from '../../src/runtime/index.js';
import { alive, capture, getFresh, linesOf, newRegistry } from '../runtime/helpers.js';
import { waitFor } from '../support/wait-for.js';
import { tempDir } from './support.js';

const app = `node ${fileURLToPath(new URL('./fixtures/meshed-app.mjs', import.meta.url))}`;

interface Called {
  status: number;
  body: string;
}

/** Has `service`'s app call `upstream` at `path` through its sidecar. */
async function callFrom(url: string, upstream: string, path: string): Promise<Called> {
  return (await getFresh(`${url}/call/${upstream}/${path}`)) as unknown as Called;
}

describe('sluice up with the mesh on', () => {
  test('runs a sidecar before each app, applies policies and authorization, and stops sidecars after apps', async () => {
    const dir = tempDir();
    const stopLog = join(dir, 'stop');
    const text = (payment: string) =>
      [
        'version: 1',
        `mesh: { enabled: true, trustDomain: meshint.test, store: ${join(dir, 'mesh.db')}, caDir: ${join(dir, 'ca')} }`,
        `telemetry: { store: { path: ${join(dir, 'telemetry.db')}, scrapeInterval: 200ms } }`,
        'services:',
        `  payment: { command: ${app}, health: /healthz,`,
        `    authorization: { default: deny, rules: [${payment}] } }`,
        `  fulfillment: { command: ${app}, health: /healthz, upstreams: [payment],`,
        `    env: { STOP_LOG: ${stopLog} },`,
        '    policies: { payment: { timeout: 2s, retry: { attempts: 3 }, breaker: { consecutiveFailures: 5 } } } }',
        `  intruder: { command: ${app}, health: /healthz, upstreams: [payment] }`,
        `  job: { command: ${app}, upstreams: [payment], env: { JOB: '1' }, restart: { policy: on-failure } }`,
      ].join('\n');
    const onlyFulfillment = '{ name: fulfillment-only, from: [fulfillment], action: allow }';
    const logs = capture();
    const system = startSystem(parseSluiceConfig(text(onlyFulfillment), { env: {} }), {
      logs: logs.sink,
      registry: newRegistry(),
    });
    let stopped = false;
    try {
      await system.ready;
      const url = (service: string) => system.urlOf(service)!;
      const sidecarOf = (service: string) =>
        system.sidecars.find((s) => s.service === `${service}-sidecar`)!;
      assert.ok(system.meshControlUrl?.startsWith('http://127.0.0.1:'));

      // The caller reaches payment over mTLS, and payment's app sees who called.
      const allowed = await callFrom(url('fulfillment'), 'payment', 'peer');
      assert.equal(allowed.status, 200, allowed.body);
      assert.deepEqual(JSON.parse(allowed.body), { peer: 'spiffe://meshint.test/svc/fulfillment' });

      // The telemetry store scrapes each sidecar too: its mesh and process metrics.
      const scraped = (name: string, service: string) =>
        system.telemetry!.series({ name, labels: { service }, from: 0, to: Date.now() + 1000 });
      await waitFor('the sidecar metrics in the store', () =>
        scraped('sluice_mesh_requests_total', 'fulfillment-sidecar').some((s) =>
          s.points.some(([, value]) => value > 0),
        ),
      );
      assert.ok(scraped('process_resident_memory_bytes', 'payment-sidecar').length > 0);
      assert.ok(scraped('nodejs_heap_size_used_bytes', 'payment-sidecar').length > 0);

      // Any other service is refused by payment's sidecar, naming the rule.
      const denied = await callFrom(url('intruder'), 'payment', 'peer');
      assert.equal(denied.status, 403);
      const problem = JSON.parse(denied.body) as { type: string; rule: string };
      assert.equal(problem.type, 'urn:sluice:problem:forbidden');
      assert.equal(problem.rule, 'default');

      // A job that exits ends its sidecar too (payment refused it, as it refuses all but fulfillment).
      await waitFor('the job and its sidecar are gone', () => {
        const job = system.instances.find((i) => i.service === 'job')!;
        const sidecar = sidecarOf('job');
        return job.state === 'exited' && sidecar.state === 'stopped' && sidecar.pid === undefined;
      });
      assert.ok(
        logs.messages().some((m) => m.endsWith('job done: 403')),
        logs.messages().join('\n'),
      );

      // A sidecar that dies is restarted on the same ports, and calls go through again.
      const before = sidecarOf('fulfillment');
      process.kill(before.pid!, 'SIGKILL');
      await waitFor('the sidecar is back', () => {
        const now = sidecarOf('fulfillment');
        return now.restarts === 1 && now.state === 'ready';
      });
      await waitFor('calls go through the new sidecar', async () => {
        return (await callFrom(url('fulfillment'), 'payment', 'peer')).status === 200;
      });

      // Policies reload through the control plane: now the intruder is let in.
      const both = `${onlyFulfillment}, { name: intruder-too, from: [intruder], action: allow }`;
      await system.reloadMeshPolicies(parseSluiceConfig(text(both), { env: {} }));
      await waitFor('payment lets the intruder in', async () => {
        return (await callFrom(url('intruder'), 'payment', 'peer')).status === 200;
      });

      const pids = system.sidecars.map((s) => s.pid).filter((pid) => pid !== undefined);
      const report = await system.stop({ drainTimeout: 5_000 });
      stopped = true;
      assert.ok(report.stopped.includes('mesh-control'));
      // fulfillment's app called payment while it drained: its sidecar was still up.
      assert.deepEqual(linesOf(stopLog), ['fulfillment.0 drained, payment answered 200']);
      for (const pid of pids) assert.equal(alive(pid), false);
    } finally {
      if (!stopped) await system.stop({ drainTimeout: 2_000 });
    }
  });
});
