import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CertificateAuthority } from '../../src/mesh/identity/authority.js';
import { removeStaleNamespaces, requireNetns, VirtualNetwork } from '../support/netns.js';
import { tempDir } from './support.js';

const execFileAsync = promisify(execFile);
const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`./multihost/${name}`, import.meta.url));

const trustDomain = 'hosts.test';
const CONTROL_PORT = 7400;
const SIDECAR_PORT = 15443;
const APP_PORT = 8080;
const UPSTREAM_PORT = 15101;
/** The caller's concurrency: each of its loops has at most one call in flight. */
const WORKERS = 4;
/**
 * The client's policy for `server`. A call stuck on the cut host ends at `timeoutMs` and is
 * never retried (it may have reached the host); `consecutiveFailures` of them open that
 * host's breaker, for longer than the test waits for the registry to drop the host (40 s),
 * so no probe goes to it meanwhile. Retry-safe failures (nothing sent) are retried on the
 * live host, within the retry budget.
 */
const policy = {
  timeoutMs: 5000,
  attempts: 3,
  budgetRatio: 0.2,
  minPerSecond: 10,
  budgetWindowMs: 10_000,
  consecutiveFailures: 2,
  openForMs: 60_000,
};
/** How long a registration lives past its last heartbeat. */
const REGISTRATION_TTL = '3s';

interface Call {
  worker: number;
  /** When the caller sent it (epoch ms: one clock for every namespace). */
  sentAt: number;
  status?: number;
  host?: string;
  error?: string;
}

/** Resolves with the first stdout line `match` accepts; rejects if the process ends first. */
function lineOf(child: ChildProcess, what: string, match: (line: string) => boolean) {
  let output = '';
  child.stderr?.on('data', (chunk) => (output += chunk));
  return new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      output += `${line}\n`;
      if (match(line)) {
        lines.close();
        resolve(line);
      }
    });
    child.once('exit', (code, signal) =>
      reject(new Error(`${what} exited (${code ?? signal}) before it was ready:\n${output}`)),
    );
  });
}

/** Checks every 50 ms until `check` holds; fails naming `what` (and the last calls) after `ms`. */
async function until(
  calls: readonly Call[],
  what: string,
  ms: number,
  check: () => boolean | Promise<boolean>,
): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > deadline) {
      const tail = calls.slice(-20).map((c) => c.host ?? c.status ?? c.error);
      throw new Error(`timed out waiting for ${what}; the last calls: ${tail.join(' ')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('the mesh on several hosts', () => {
  let net: VirtualNetwork | undefined;

  before(async () => {
    await requireNetns();
    await removeStaleNamespaces();
  });

  after(async () => {
    await net?.destroy();
  });

  it('moves callers off a host that is cut off, within the retry budget, and back when it returns', async () => {
    net = await VirtualNetwork.create(['a', 'b', 'c'], '10.77.1');
    const dir = tempDir();
    const caDir = join(dir, 'ca');
    // The CA every control plane shares (on real hosts: the same --ca-dir copied to each).
    const ca = await CertificateAuthority.open({ dir: caDir, trustDomain });

    // The registry: a private Redis on the switch's address, which every host reaches.
    const redis = net.spawn('switch', 'redis-server', [
      '--bind',
      net.switch.address,
      '--port',
      '6379',
      '--save',
      '',
      '--protected-mode',
      'no',
      '--appendonly',
      'no',
      '--dir',
      dir,
    ]);
    await lineOf(redis, 'redis-server', (line) => line.includes('Ready to accept connections'));

    // One control plane on each host, all on that Redis.
    const controlOf = (host: string) => `http://${net!.host(host).address}:${CONTROL_PORT}`;
    await Promise.all(
      ['a', 'b', 'c'].map((host) => {
        const plane = net!.spawn(host, process.execPath, [
          cli,
          'mesh',
          'control',
          '--listen',
          `${net!.host(host).address}:${CONTROL_PORT}`,
          '--trust-domain',
          trustDomain,
          '--ca-dir',
          caDir,
          '--store',
          `redis://${net!.switch.address}:6379`,
          '--store-prefix',
          'meshhosts',
          '--registration-ttl',
          REGISTRATION_TTL,
        ]);
        return lineOf(plane, `the control plane on ${host}`, (line) =>
          line.includes('control plane on'),
        );
      }),
    );

    const sidecar = async (host: string, service: string, extra: string[]) => {
      const instance = `${service}-${host}`;
      const token = await ca.tokens.bootstrap(service, { instance });
      const address = `${net!.host(host).address}:${SIDECAR_PORT}`;
      const child = net!.spawn(host, process.execPath, [
        cli,
        'sidecar',
        '--service',
        service,
        '--instance',
        instance,
        '--control',
        controlOf(host),
        '--token',
        token,
        '--trust-domain',
        trustDomain,
        '--app-port',
        String(APP_PORT),
        '--listen',
        address,
        '--advertise',
        address,
        '--admin',
        '127.0.0.1:15000',
        ...extra,
      ]);
      await lineOf(child, `the sidecar on ${host}`, (line) => line.startsWith('{"sidecar"'));
    };

    // The server app on hosts a and b, each behind its sidecar (ready before its app).
    const policyFile = join(dir, 'client-policy.yaml');
    writeFileSync(
      policyFile,
      `policies:
  server:
    timeout: ${policy.timeoutMs}ms
    retry:
      attempts: ${policy.attempts}
      budget: ${policy.budgetRatio * 100}%
      minPerSecond: ${policy.minPerSecond}
      budgetWindow: ${policy.budgetWindowMs}ms
    breaker:
      consecutiveFailures: ${policy.consecutiveFailures}
      openFor: ${policy.openForMs}ms
      maxOpenFor: ${policy.openForMs}ms
`,
    );
    await Promise.all([
      ...['a', 'b'].map(async (host) => {
        await sidecar(host, 'server', []);
        const app = net!.spawn(host, process.execPath, [fixture('server-app.mjs')], {
          PORT: String(APP_PORT),
          HOST_NAME: host,
        });
        await lineOf(app, `the app on ${host}`, (line) => line === 'listening');
      }),
      sidecar('c', 'client', ['--upstream', `server=${UPSTREAM_PORT}`, '--policy', policyFile]),
    ]);

    // The client app on host c calls `server` through its sidecar, steadily.
    const calls: Call[] = [];
    const caller = net.spawn('c', process.execPath, [fixture('caller.mjs')], {
      UPSTREAM_URL: `http://127.0.0.1:${UPSTREAM_PORT}`,
      ADMIN_URL: 'http://127.0.0.1:15000',
      WORKERS: String(WORKERS),
      PAUSE_MS: '10',
    });
    const metricsWaiters: ((text: string) => void)[] = [];
    createInterface({ input: caller.stdout! }).on('line', (line) => {
      const parsed = JSON.parse(line) as Call & { metrics?: string };
      if (parsed.metrics === undefined) calls.push(parsed);
      else metricsWaiters.shift()?.(parsed.metrics);
    });
    /** The client sidecar's metrics, read by the client app (its admin port is on loopback). */
    const clientMetrics = () =>
      new Promise<string>((resolve) => {
        metricsWaiters.push(resolve);
        caller.stdin!.write('metrics\n');
      });
    const answeredBy = (host: string, start = 0) =>
      calls.slice(start).filter((c) => c.status === 200 && c.host === host).length;
    const failures = (start: number, end = calls.length) =>
      calls.slice(start, end).filter((c) => c.status !== 200);

    // Both hosts serve, with no failure.
    await until(
      calls,
      'both hosts to answer',
      30_000,
      () => answeredBy('a') >= 20 && answeredBy('b') >= 20,
    );
    assert.deepEqual(failures(0), [], 'no call fails while both hosts are up');

    // Cut b off under traffic: the calls move to a, and b leaves the client's endpoints
    // once its registration expires (its sidecar cannot heartbeat any control plane).
    const cutAt = calls.length;
    const cutTime = performance.now();
    await net.cut('b');
    await until(
      calls,
      'the last 50 calls to be answered by a',
      20_000,
      () =>
        calls.length - cutAt >= 50 &&
        failures(calls.length - 50).length === 0 &&
        answeredBy('b', calls.length - 50) === 0,
    );
    const movedMs = Math.round(performance.now() - cutTime);
    const movedAt = calls.length;
    await until(
      calls,
      "b to leave the client's endpoints",
      20_000,
      async () => !(await clientMetrics()).includes('instance="server-b"'),
    );
    const droppedAt = Date.now();
    const droppedMs = Math.round(performance.now() - cutTime);

    // Every call stuck on b was sent before b left; once each caller loop has finished a
    // call sent after that, all of them have ended, by the policy's timeout since b is still
    // cut off (once back, b would answer them), and are counted.
    await until(calls, 'the calls stuck on b to end', 30_000, () =>
      Array.from({ length: WORKERS }, (_, w) => w).every((w) =>
        calls.some((c) => c.worker === w && c.sentAt > droppedAt),
      ),
    );

    // Back: b registers again and the calls return to it.
    const restoredAt = calls.length;
    await net.restore('b');
    await until(calls, 'b to answer again', 30_000, () => answeredBy('b', restoredAt) >= 20);
    const text = await clientMetrics();
    caller.kill('SIGTERM');

    const counter = (name: string) =>
      Number(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
    const retries = counter('sluice_mesh_retries_total');
    const exhausted = counter('sluice_mesh_retry_budget_exhausted_total');
    const errors = failures(cutAt);
    const timedOut = errors.filter((c) => c.status === 504).length;
    console.log(
      `# cut b: ${movedAt - cutAt} calls until 50 in a row went to a (${movedMs} ms); b left the ` +
        `client's endpoints after ${droppedMs} ms; ${errors.length} failed calls ` +
        `(${timedOut} timed out), ${retries} retries, budget refused ${exhausted}, ${calls.length} calls in all`,
    );

    // Every failure is a call that was stuck on b or a retry-safe failure whose retry the
    // budget refused. A stuck call may have reached b, so it is never retried; each caller
    // loop waits on its stuck call, and sends b another only after that one failed, which
    // happens at most consecutiveFailures - 1 times before b's breaker opens (and it stays
    // open until b has left the registry).
    const others = errors.filter((c) => c.status !== 504);
    assert.ok(
      others.length <= exhausted,
      `failures other than timeouts must be retries the budget refused: ${JSON.stringify(others)}`,
    );
    const stuckAtMost = WORKERS + policy.consecutiveFailures - 1;
    assert.ok(timedOut <= stuckAtMost, `${timedOut} calls timed out; at most ${stuckAtMost} can`);
    // Retries never exceed what the budget allows: its floor per window plus its share of calls.
    const windows = Math.ceil((performance.now() - cutTime) / policy.budgetWindowMs) + 1;
    const allowed =
      (policy.minPerSecond * policy.budgetWindowMs * windows) / 1000 +
      policy.budgetRatio * calls.length;
    assert.ok(retries <= allowed, `${retries} retries, the budget allows ${allowed}`);
    // Once b is back, nothing fails.
    assert.deepEqual(failures(restoredAt), []);
  });
});

describe('the virtual network of the several-hosts test', () => {
  before(requireNetns);

  it('removes its namespaces and stops its processes', async () => {
    const net = await VirtualNetwork.create(['x'], '10.77.2');
    const sleeper = net.spawn('x', 'sleep', ['60']);
    const names = [net.switch.ns, net.host('x').ns];
    assert.ok(names.every((name) => existsSync(`/run/netns/${name}`)));
    await net.destroy();
    assert.ok(sleeper.exitCode !== null || sleeper.signalCode !== null);
    assert.deepEqual(
      names.filter((name) => existsSync(`/run/netns/${name}`)),
      [],
    );
  });

  it('removes what a run that died left behind, and only that', async () => {
    // No process has a pid this high (pid_max is at most 2^22); pid 1 always runs.
    const stale = 'sluice-mh-99999999-1-sw';
    const live = 'sluice-mh-1-1-kept';
    await execFileAsync('ip', ['netns', 'add', stale]);
    await execFileAsync('ip', ['netns', 'add', live]);
    try {
      await removeStaleNamespaces();
      assert.equal(existsSync(`/run/netns/${stale}`), false);
      assert.equal(existsSync(`/run/netns/${live}`), true);
    } finally {
      await execFileAsync('ip', ['netns', 'del', stale]).catch(() => {});
      await execFileAsync('ip', ['netns', 'del', live]).catch(() => {});
    }
  });
});
