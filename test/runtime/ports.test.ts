import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { createLogger } from '../../src/observe/index.js';
import { Instance } from '../../src/runtime/instance.js';
import { runtimeMetrics } from '../../src/runtime/metrics.js';
import { planService } from '../../src/runtime/plan.js';
import { describeHolder, processGroupOf, strangerOn } from '../../src/runtime/port-holder.js';
import { freePorts, listen } from '../../src/runtime/ports.js';
import { waitFor } from '../support/wait-for.js';
import { capture } from './helpers.js';

test('freePorts hands out distinct ports, each free to bind once it returns', async () => {
  const ports = await freePorts('127.0.0.1', 64);
  assert.equal(ports.length, 64);
  assert.equal(new Set(ports).size, 64, 'no port is handed out twice');
  const servers = ports.map(() => createServer());
  try {
    const bound = await Promise.all(servers.map((s, i) => listen(s, ports[i]!, '127.0.0.1')));
    assert.deepEqual(bound, ports);
  } finally {
    for (const server of servers) server.close();
  }
});

test('freePorts never hands out a port twice in one process, even after its probe closed', async () => {
  // The kernel picks port 0 binds at random from the ephemeral range, so 600 separate calls
  // without the process-wide memory would repeat a port almost surely (birthday bound).
  const seen = new Set<number>();
  for (let i = 0; i < 600; i++) {
    const [port] = await freePorts('127.0.0.1', 1);
    assert.ok(!seen.has(port!), `port ${port} handed out twice`);
    seen.add(port!);
  }
});

test('freePorts reports a host it cannot bind', async () => {
  await assert.rejects(freePorts('192.0.2.1', 2), { code: 'EADDRNOTAVAIL' });
});

test('the holder of a port is named from /proc, and a process group knows its own', async () => {
  const server = createHttpServer((_req, res) => res.end('ok'));
  const port = await listen(server, 0, '127.0.0.1');
  try {
    assert.match((await describeHolder(port)) ?? '', new RegExp(`^pid ${process.pid} \\(`));
    const ownGroup = (await processGroupOf(process.pid))!;
    assert.equal(await strangerOn(port, ownGroup), undefined, 'our own group holds it');
    assert.match(
      (await strangerOn(port, ownGroup + 1_000_000)) ?? '',
      new RegExp(`pid ${process.pid}`),
    );
  } finally {
    server.close();
  }
});

test('a health check answered by another process does not make the instance ready', async () => {
  // The port is taken by a stranger that answers 200; the instance never binds it.
  const stranger = createHttpServer((_req, res) => res.end('ok'));
  const port = await listen(stranger, 0, '127.0.0.1');
  const logs = capture();
  const instance = new Instance({
    plan: planService('idle', {
      command: `${process.execPath} -e "setInterval(() => {}, 1e9)"`,
      health: { path: '/healthz', interval: '50ms' },
    }),
    index: 0,
    host: '127.0.0.1',
    port,
    env: process.env,
    sink: logs.sink,
    logger: createLogger({ name: 'test', level: 'silent' }),
    metrics: runtimeMetrics(new Registry()),
  });
  try {
    instance.start();
    await waitFor('the stranger answered a check', () => instance.lastCheck.includes('200'));
    await assert.rejects(instance.whenReady(AbortSignal.timeout(500)), { name: 'TimeoutError' });
    assert.match(
      instance.lastCheck,
      new RegExp(`: 200 from pid ${process.pid} \\(.*\\), not from this instance$`),
    );
  } finally {
    await instance.stop(5_000, new AbortController().signal);
    stranger.close();
  }
});
