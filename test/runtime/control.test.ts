import assert from 'node:assert/strict';
import { request } from 'node:http';
import { afterEach, describe, test } from 'node:test';
import { isConfigError, isSluiceError } from '../../src/core/index.js';
import {
  fetchSystemStatus,
  isSystemUnreachableError,
  killInstance,
  parseSluiceConfig,
  type System,
  startSystem,
} from '../../src/runtime/index.js';
import { freePort } from '../../src/runtime/ports.js';
import { waitFor } from '../support/wait-for.js';
import { alive, capture, newRegistry, service } from './helpers.js';

const running: System[] = [];
afterEach(async () => {
  for (const system of running.splice(0)) await system.stop({ drainTimeout: 5_000 });
});

async function start(services: string): Promise<{ system: System; control: string }> {
  const yaml = `version: 1\ncontrol: { port: 0 }\nservices:\n${services}`;
  const config = parseSluiceConfig(yaml, { env: {} });
  const system = startSystem(config, { logs: capture().sink, registry: newRegistry() });
  running.push(system);
  await system.ready;
  assert.ok(system.controlUrl !== undefined, 'the control API listens');
  return { system, control: system.controlUrl };
}

/** A raw request, to send the headers a browser would. */
function send(
  url: string,
  method: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const twoInstances = `  api: { command: ${service}, instances: 2, health: { path: /healthz, interval: 50ms }, restart: { backoff: 50ms } }\n`;

describe('the control API', () => {
  test('GET /system shows every service and instance with its pid, port, state and restarts', async () => {
    const { system, control } = await start(twoInstances);
    const status = await fetchSystemStatus(control);
    assert.deepEqual(Object.keys(status.services), ['api']);
    const api = status.services.api!;
    assert.equal(api.url, system.urlOf('api'));
    assert.equal(api.restart, 'on-failure');
    assert.deepEqual(
      api.instances.map((i) => [i.index, i.pid, i.port, i.state, i.restarts]),
      system.instances.map((i) => [i.index, i.pid, i.port, 'ready', 0]),
    );
    assert.ok(new URL(control).hostname === '127.0.0.1', 'loopback only');
  });

  test('a killed instance is SIGKILLed and brought back by the restart policy; its sibling is untouched', async () => {
    const { control } = await start(twoInstances);
    const [first, second] = (await fetchSystemStatus(control)).services.api!.instances;
    const killed = await killInstance(control, 'api', 1);
    assert.deepEqual(killed, { service: 'api', index: 1, pid: second!.pid, restart: 'on-failure' });
    await waitFor('api.1 is restarted and ready', async () => {
      const now = (await fetchSystemStatus(control)).services.api!.instances[1]!;
      return now.restarts === 1 && now.state === 'ready' && now.pid !== second!.pid;
    });
    assert.equal(alive(second!.pid), false, 'the old process is gone');
    const sibling = (await fetchSystemStatus(control)).services.api!.instances[0]!;
    assert.deepEqual([sibling.pid, sibling.restarts], [first!.pid, 0]);
  });

  test('an unknown service or instance, or one with no process, is refused and nothing is killed', async () => {
    const { system, control } = await start(
      `${twoInstances}  once: { command: ${service}, health: { path: /healthz, interval: 50ms }, restart: { policy: never } }\n`,
    );
    const refused = async (service: string, index: number, message: RegExp) => {
      await assert.rejects(killInstance(control, service, index), (error) => {
        assert.ok(isSluiceError(error, 'SLUICE_INVALID_ARGUMENT'), String(error));
        assert.match(error.message, message);
        return true;
      });
    };
    await refused('nope', 0, /No service "nope" \(running: api, once\)/);
    await refused('api', 2, /api has no instance 2 \(its instances: 0, 1\)/);

    const once = system.instances.find((i) => i.service === 'once')!;
    assert.equal((await killInstance(control, 'once', 0)).restart, 'never');
    await waitFor('once has exited for good', () =>
      system.instances.some((i) => i.service === 'once' && i.state === 'exited'),
    );
    await refused('once', 0, /once\.0 has no process to kill \(state: exited\)/);
    assert.equal(alive(once.pid), false);
    assert.ok(
      system.instances.filter((i) => i.service === 'api').every((i) => i.restarts === 0),
      'api was never touched',
    );
  });

  test('requests a web page could send are refused: an Origin header, a foreign Host', async () => {
    const { system, control } = await start(twoInstances);
    const pids = system.instances.map((i) => i.pid);
    const kill = `${control}/services/api/instances/0/kill`;
    const fromPage = await send(kill, 'POST', { origin: 'https://evil.example' });
    assert.equal(fromPage.status, 403);
    const rebound = await send(`${control}/system`, 'GET', { host: 'evil.example:9465' });
    assert.equal(rebound.status, 403);
    assert.equal((await send(kill, 'GET', {})).status, 405);
    assert.equal((await send(`${control}/system`, 'POST', {})).status, 405);
    assert.equal((await send(`${control}/nothing`, 'GET', {})).status, 404);
    assert.deepEqual(
      system.instances.map((i) => i.pid),
      pids,
      'nothing was killed',
    );
    assert.ok(system.instances.every((i) => i.restarts === 0));
  });

  test('a client says when no system answers, or when what answers is no control API', async () => {
    const nothing = `http://127.0.0.1:${await freePort('127.0.0.1')}`;
    await assert.rejects(fetchSystemStatus(nothing), (error) => {
      assert.ok(isSystemUnreachableError(error));
      assert.match(error.message, /nothing answers at http:\/\/127\.0\.0\.1:\d+/);
      return true;
    });
    const { system } = await start(twoInstances);
    await assert.rejects(fetchSystemStatus(system.urlOf('api')!), /is no Sluice control API/);
  });

  test('no control section, no listener; the port is checked like any other', async () => {
    const config = parseSluiceConfig(`version: 1\nservices:\n${twoInstances}`, { env: {} });
    const system = startSystem(config, { logs: capture().sink, registry: newRegistry() });
    running.push(system);
    await system.ready;
    assert.equal(system.controlUrl, undefined);

    for (const [control, message] of [
      ['{ port: 70000 }', /control\.port/],
      ['{}', /control: missing required key "port"/],
      ['{ port: 9465, host: 0.0.0.0 }', /control\.host: unknown key "host"/],
    ] as const) {
      assert.throws(
        () => parseSluiceConfig(`version: 1\ncontrol: ${control}\n`, { env: {} }),
        (error) => isConfigError(error) && message.test(error.message),
        control,
      );
    }
  });
});
