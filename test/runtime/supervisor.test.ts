import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';
import type { Component } from '../../src/core/index.js';
import {
  isPortsUnavailableError,
  isServiceNotReadyError,
  parseSluiceConfig,
  type System,
  startSystem,
} from '../../src/runtime/index.js';
import { listen } from '../../src/runtime/ports.js';
import { waitFor } from '../support/wait-for.js';
import {
  alive,
  type Captured,
  capture,
  counterValue,
  getFresh,
  getJson,
  linesOf,
  newRegistry,
  service,
  tempDir,
} from './helpers.js';

const running: System[] = [];
afterEach(async () => {
  for (const system of running.splice(0)) await system.stop({ drainTimeout: 5_000 });
});

function start(
  yaml: string,
  logs: Captured,
  options: Parameters<typeof startSystem>[1] = {},
  head = '',
): System {
  const config = parseSluiceConfig(`version: 1\n${head}services:\n${yaml}`, { env: {} });
  const system = startSystem(config, { logs: logs.sink, registry: newRegistry(), ...options });
  running.push(system);
  return system;
}

describe('startSystem', () => {
  test('starts in dependency order and hands out ports and upstream URLs', async () => {
    const dir = tempDir();
    const logs = capture();
    const env = `{ START_LOG: ${join(dir, 'start')}, STOP_LOG: ${join(dir, 'stop')} }`;
    const system = start(
      [
        `  api: { command: ${service}, upstreams: [db], health: /healthz,`,
        `         env: { REQUIRE_UPSTREAMS: 1, START_LOG: ${join(dir, 'start')}, STOP_LOG: ${join(dir, 'stop')} } }`,
        `  db: { command: ${service}, instances: 2, health: { path: /healthz, interval: 50ms }, env: ${env} }`,
      ].join('\n'),
      logs,
      {},
      'messaging: { driver: redis, url: "redis://10.0.0.5:6379", prefix: shop }\n',
    );
    await system.ready;

    const started = linesOf(join(dir, 'start'));
    assert.deepEqual(started.slice(0, 2).sort(), ['db.0', 'db.1']);
    assert.deepEqual(started.slice(2), ['api.0']);

    const [api] = system.instances.filter((i) => i.service === 'api');
    const db = system.instances.filter((i) => i.service === 'db');
    assert.equal(
      new Set(system.instances.map((i) => i.port)).size,
      3,
      'each instance has its own port',
    );
    const apiEnv = await getJson(`${api!.url}/env`);
    assert.equal(apiEnv.PORT, String(api!.port));
    assert.equal(apiEnv.DB_URL, system.urlOf('db'));
    assert.equal(apiEnv.SLUICE_MESSAGING_DRIVER, 'redis');
    assert.equal(apiEnv.SLUICE_MESSAGING_URL, 'redis://10.0.0.5:6379');
    assert.equal(apiEnv.SLUICE_MESSAGING_PREFIX, 'shop');
    for (const instance of db) {
      assert.equal((await getJson(`${instance.url}/whoami`)).instance, instance.index);
    }
    // Several instances: callers reach them in turn through one URL.
    const seen = new Set<unknown>();
    for (let i = 0; i < 4; i++) seen.add((await getFresh(`${system.urlOf('db')}/whoami`)).instance);
    assert.deepEqual([...seen].sort(), [0, 1]);

    const report = await system.stop({ drainTimeout: 5_000 });
    assert.deepEqual(report.stopped, ['api', 'db']);
    const stopped = linesOf(join(dir, 'stop'));
    assert.equal(stopped[0], 'api.0', 'callers stop before what they call');
    assert.deepEqual(stopped.slice(1).sort(), ['db.0', 'db.1']);
    for (const instance of system.instances) assert.equal(alive(instance.pid), false);
  });

  test('a service that never becomes healthy fails the start and rolls everything back', async () => {
    const dir = tempDir();
    const logs = capture();
    const system = start(
      [
        `  db: { command: ${service}, health: /healthz }`,
        `  bad: { command: ${service}, upstreams: [db], env: { HEALTH: fail },`,
        `         health: { path: /healthz, interval: 50ms, startTimeout: 3s } }`,
        `  web: { command: ${service}, upstreams: [bad], env: { START_LOG: ${join(dir, 'start')} } }`,
      ].join('\n'),
      logs,
    );
    let pids: (number | undefined)[] = [];
    await waitFor('db and bad are running', () => {
      pids = system.instances.map((i) => i.pid);
      return pids.length === 2 && pids.every((pid) => pid !== undefined);
    });
    await assert.rejects(system.ready, (error: unknown) => {
      assert.ok(isServiceNotReadyError(error), String(error));
      assert.equal(error.service, 'bad');
      assert.match(
        error.message,
        /bad did not become ready within 3000 ms \(last check GET http:\/\/127\.0\.0\.1:\d+\/healthz: 503\)/,
      );
      return true;
    });
    await waitFor('every instance is gone', () => pids.every((pid) => !alive(pid)));
    assert.deepEqual(linesOf(join(dir, 'start')), [], 'web never started');
    assert.ok(logs.messages().some((m) => m.startsWith('bad failed to start')));
  });

  test('an instance that exits for good while starting fails the start at once', async () => {
    const logs = capture();
    const system = start(
      `  a: { command: ${service}, env: { EXIT_AT_START: 4 }, restart: { policy: never }, health: { path: /healthz, startTimeout: 10m } }\n`,
      logs,
    );
    await assert.rejects(system.ready, /a exited with code 4/);
    assert.ok(logs.messages().includes('a exited with code 4; not restarting (restart: never)'));
    assert.equal(system.instances[0]!.restarts, 0);
  });

  test('a service failing to start cuts short the others of its level and stops them', {
    timeout: 60_000,
  }, async () => {
    const dir = tempDir();
    const never = join(dir, 'never');
    const system = start(
      [
        `  slow: { command: ${service}, env: { HEALTHY_AFTER: ${never} },`,
        `          health: { path: /healthz, interval: 50ms, startTimeout: 10m } }`,
        `  broken: { command: ${service}, env: { EXIT_AT_START: 3 }, restart: { policy: never },`,
        `            health: /healthz }`,
      ].join('\n'),
      capture(),
    );
    let slowPid: number | undefined;
    await waitFor('slow is running', () => {
      slowPid = system.instances.find((i) => i.service === 'slow')?.pid;
      return slowPid !== undefined;
    });
    await assert.rejects(system.ready, (error: unknown) => {
      assert.ok(isServiceNotReadyError(error), String(error));
      assert.equal(error.service, 'broken', 'the failure itself, not the abort it caused');
      return true;
    });
    await waitFor('slow was stopped', () => !alive(slowPid));
  });

  test('a crashed instance is restarted, logged and counted', async () => {
    const logs = capture();
    const registry = newRegistry();
    const system = start(
      `  a: { command: ${service}, health: { path: /healthz, interval: 50ms }, restart: { policy: always, backoff: 50ms } }\n`,
      logs,
      { registry },
      'telemetry: { metrics: { port: 0 } }\n',
    );
    await system.ready;
    const before = system.instances[0]!;
    await fetch(`${before.url}/crash`).then((r) => r.text());
    await waitFor('a is restarted and ready', () => {
      const now = system.instances[0]!;
      return now.restarts === 1 && now.state === 'ready' && now.pid !== before.pid;
    });
    assert.equal(alive(before.pid), false);
    assert.equal(await counterValue(registry, 'sluice_runtime_restarts_total', 'a'), 1);
    const exposed = await fetch(system.metricsUrl!).then((r) => r.text());
    assert.match(exposed, /^sluice_runtime_restarts_total\{service="a"\} 1$/m);
    assert.match(exposed, /^sluice_runtime_instances_ready\{service="a"\} 1$/m);
    // The supervisor's own process, under the standard names.
    for (const name of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_heap_size_used_bytes',
      'nodejs_eventloop_lag_seconds',
    ]) {
      assert.match(exposed, new RegExp(`^${name} \\d`, 'm'), name);
    }
    assert.match(exposed, /^# TYPE nodejs_gc_duration_seconds histogram$/m);
    const restart = logs.records().find((r) => String(r.msg).includes('restarting'));
    assert.equal(restart?.msg, 'a exited with code 1; restarting in 50 ms (attempt 1)');
    assert.equal(restart?.service, 'a', 'the supervisor line is filed under the service');
    assert.equal((await getJson(`${before.url}/whoami`)).pid, system.instances[0]!.pid);
  });

  test('an instance crashing in a loop is restarted with exponential backoff', async () => {
    const logs = capture();
    const registry = newRegistry();
    const system = start(
      `  loop: { command: ${service}, env: { EXIT_AT_START: 1 }, restart: { backoff: 10ms, maxBackoff: 40ms } }\n`,
      logs,
      { registry },
    );
    await system.ready;
    await waitFor('five restarts', () => system.instances[0]!.restarts >= 5);
    const delays = logs
      .messages()
      .map((m) => /restarting in (\d+) ms/.exec(m)?.[1])
      .filter((d) => d !== undefined)
      .map(Number);
    assert.deepEqual(delays.slice(0, 5), [10, 20, 40, 40, 40]);
    assert.ok((await counterValue(registry, 'sluice_runtime_restarts_total', 'loop')) >= 5);
  });

  test('an unhealthy instance is taken out of rotation, not restarted', async () => {
    const logs = capture();
    const registry = newRegistry();
    const system = start(
      `  a: { command: ${service}, instances: 2, health: { path: /healthz, interval: 50ms, unhealthyThreshold: 2 } }\n`,
      logs,
      { registry },
    );
    await system.ready;
    const sick = system.instances[1]!;
    await fetch(`${sick.url}/sicken`).then((r) => r.text());
    await waitFor('a.1 is unhealthy', () => system.instances[1]!.state === 'unhealthy');
    assert.ok(logs.messages().some((m) => /^a\.1 is unhealthy \(GET .*: 503\)$/.test(m)));
    assert.equal(await counterValue(registry, 'sluice_runtime_instances_ready', 'a'), 1);
    for (let i = 0; i < 4; i++) {
      assert.equal((await getFresh(`${system.urlOf('a')}/whoami`)).instance, 0);
    }
    assert.equal(system.instances[1]!.pid, sick.pid);
    assert.equal(system.instances[1]!.restarts, 0);
  });

  test('restart: on-failure leaves a clean exit alone', async () => {
    const logs = capture();
    const system = start(`  once: { command: ${service}, env: { EXIT_AT_START: 0 } }\n`, logs);
    await system.ready;
    await waitFor('it has exited', () => system.instances[0]!.state === 'exited');
    assert.equal(system.instances[0]!.restarts, 0);
    assert.ok(
      logs.messages().includes('once exited with code 0; not restarting (restart: on-failure)'),
    );
  });

  test('an instance that ignores SIGTERM is killed at the drain deadline', async () => {
    const dir = tempDir();
    const logs = capture();
    const registry = newRegistry();
    const system = start(
      `  stubborn: { command: ${service}, health: /healthz, drainTimeout: 200ms, env: { IGNORE_SIGTERM: 1, STOP_LOG: ${join(dir, 'stop')} } }\n`,
      logs,
      { registry },
    );
    await system.ready;
    assert.equal(await counterValue(registry, 'sluice_runtime_instances_ready', 'stubborn'), 1);
    const { pid } = system.instances[0]!;
    const report = await system.stop({ drainTimeout: 30_000 });
    assert.deepEqual(report.stopped, ['stubborn']);
    assert.deepEqual(linesOf(join(dir, 'stop')), ['stubborn.0'], 'it was asked first');
    assert.equal(alive(pid), false);
    assert.equal(await counterValue(registry, 'sluice_runtime_instances_ready', 'stubborn'), 0);
    assert.ok(logs.messages().includes('stubborn did not stop within its drain deadline: killed'));
  });

  test('every process has exited once stop returns, even those stopped past the drain deadline', async () => {
    const logs = capture();
    const stubborn = `{ command: ${service}, health: /healthz, env: { IGNORE_SIGTERM: 1 } }`;
    const system = start(
      [
        `  db: ${stubborn}`,
        `  api: { command: ${service}, upstreams: [db], instances: 3, health: /healthz, env: { IGNORE_SIGTERM: 1 } }`,
      ].join('\n'),
      logs,
    );
    await system.ready;
    const pids = system.instances.map((i) => i.pid);
    // api overruns the whole deadline, so db is stopped with none left: both are killed.
    const report = await system.stop({ drainTimeout: 100 });
    assert.deepEqual(report.overran, ['api', 'db']);
    assert.deepEqual(
      pids.filter((pid) => alive(pid)),
      [],
    );
  });

  test('merges logs as JSON lines, passing a service’s own JSON through', async () => {
    const logs = capture();
    const system = start(`  a: { command: ${service}, instances: 2, health: /healthz }\n`, logs);
    await system.ready;
    await waitFor(
      'both instances logged',
      () => logs.records().filter((r) => r.msg === 'listening').length === 2,
    );
    const own = logs.records().filter((r) => r.msg === 'listening');
    assert.deepEqual(own.map((r) => r.instance).sort(), [0, 1]);
    for (const record of own) {
      assert.equal(record.service, 'a');
      assert.equal(typeof record.port, 'number', 'its own fields are kept');
    }
    await waitFor('plain lines logged', () =>
      logs.messages().some((m) => m.startsWith('plain line')),
    );
    const plain = logs.records().find((r) => String(r.msg).startsWith('plain line from a.'));
    assert.equal(plain?.service, 'a');
    assert.equal(plain?.level, 30);
  });

  test('components start after every service and stop before any', async () => {
    const dir = tempDir();
    const stopLog = join(dir, 'stop');
    const events: string[] = [];
    const system = start(
      `  a: { command: ${service}, health: /healthz, env: { STOP_LOG: ${stopLog} } }\n`,
      capture(),
      {
        components: (view) => {
          const gateway: Component = {
            name: 'gateway',
            start: async () => {
              const ready = view.instances.every((i) => i.state === 'ready');
              events.push(`start a=${view.urlOf('a')} ready=${ready}`);
            },
            stop: () => {
              events.push(`stop with a stopped=${linesOf(stopLog).length > 0}`);
            },
          };
          return [gateway];
        },
      },
    );
    await system.ready;
    const report = await system.stop({ drainTimeout: 5_000 });
    assert.deepEqual(report.stopped, ['gateway', 'a']);
    assert.deepEqual(events, [
      `start a=${system.instances[0]!.url} ready=true`,
      'stop with a stopped=false',
    ]);
  });

  test('the upstream URL seam lets a sidecar stand between caller and callee', async () => {
    const logs = capture();
    const system = start(
      [
        `  a: { command: ${service}, health: /healthz }`,
        `  b: { command: ${service}, upstreams: [a], health: /healthz }`,
      ].join('\n'),
      logs,
      {
        upstreamUrl: (route) =>
          `${route.url}/via-sidecar-of-${route.caller.service}-${route.caller.index}`,
      },
    );
    await system.ready;
    const b = system.instances.find((i) => i.service === 'b')!;
    assert.equal((await getJson(`${b.url}/env`)).A_URL, `${system.urlOf('a')}/via-sidecar-of-b-0`);
  });

  test('services that call none of each other start together', async () => {
    const dir = tempDir();
    const bStarted = join(dir, 'b-started');
    // a turns healthy only once b has started: one after the other, a would never be ready.
    const system = start(
      [
        `  a: { command: ${service}, env: { HEALTHY_AFTER: ${bStarted} },`,
        `       health: { path: /healthz, interval: 50ms, startTimeout: 20s } }`,
        `  b: { command: ${service}, health: /healthz, env: { START_LOG: ${bStarted} } }`,
        `  c: { command: ${service}, upstreams: [a, b], health: /healthz }`,
      ].join('\n'),
      capture(),
    );
    await system.ready;
    assert.equal(system.instances.length, 3);
    const report = await system.stop({ drainTimeout: 5_000 });
    assert.deepEqual(report.stopped, ['c', 'a, b'], 'c first, then a and b together');
  });

  test('a taken port fails the start before anything runs, naming the port and its holder', async () => {
    const dir = tempDir();
    const holder = createServer();
    const port = await listen(holder, 0, '127.0.0.1');
    try {
      const system = start(
        [
          `  free: { command: ${service}, env: { START_LOG: ${join(dir, 'start')} } }`,
          `  taken: { command: ${service}, port: ${port}, env: { START_LOG: ${join(dir, 'start')} } }`,
        ].join('\n'),
        capture(),
      );
      await assert.rejects(system.ready, (error: unknown) => {
        assert.ok(isPortsUnavailableError(error), String(error));
        assert.match(
          error.message,
          new RegExp(
            `port ${port} \\(services\\.taken\\.port\\) is in use by pid ${process.pid} \\(`,
          ),
        );
        return true;
      });
      assert.deepEqual(linesOf(join(dir, 'start')), [], 'nothing was started');
    } finally {
      holder.close();
    }
  });
});
