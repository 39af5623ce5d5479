import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../support/wait-for.js';
import { alive, getJson, linesOf, service, tempDir } from './helpers.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function sluiceUp(...args: string[]): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'up', ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

function writeConfig(dir: string, services: string[]): string {
  const file = join(dir, 'sluice.yaml');
  writeFileSync(file, ['version: 1', 'services:', ...services, ''].join('\n'));
  return file;
}

type Urls = Record<string, { url: string; instances: string[] }>;

interface Up {
  urls: Urls;
  gateway?: string;
  admin?: string;
}

async function whenUpWith(run: Run): Promise<Up> {
  let up: Up | undefined;
  await waitFor(
    'sluice says it is up',
    () => {
      for (const line of run.stdout().split('\n')) {
        if (!line.includes('"sluice is up"')) continue;
        up = JSON.parse(line) as Up;
      }
      return up !== undefined || run.child.exitCode !== null;
    },
    { timeoutMs: 30_000 },
  );
  assert.ok(up !== undefined, `not up:\n${run.stdout()}\n${run.stderr()}`);
  return up;
}

async function whenUp(run: Run): Promise<Urls> {
  return (await whenUpWith(run)).urls;
}

describe('sluice up', () => {
  test('runs the file, prints the URLs and drains on SIGTERM', async () => {
    const dir = tempDir();
    const file = writeConfig(dir, [
      `  db: { command: ${service}, health: /healthz, env: { STOP_LOG: ${join(dir, 'stop')} } }`,
      `  api: { command: ${service}, instances: 2, upstreams: [db], health: /healthz, env: { STOP_LOG: ${join(dir, 'stop')} } }`,
    ]);
    const run = sluiceUp(file, '--log-format', 'json');
    const urls = await whenUp(run);
    assert.equal(urls.api!.instances.length, 2);
    const pids: unknown[] = [];
    for (const url of [...urls.api!.instances, urls.db!.url])
      pids.push((await getJson(`${url}/whoami`)).pid);
    assert.equal((await getJson(`${urls.api!.instances[0]}/env`)).DB_URL, urls.db!.url);

    run.child.kill('SIGTERM');
    assert.equal(await run.exited, 0, run.stderr());
    assert.deepEqual(linesOf(join(dir, 'stop')).slice(2), ['db.0'], 'api stopped before db');
    for (const pid of pids) assert.equal(alive(pid as number), false);
    for (const line of run.stdout().trim().split('\n')) {
      const record = JSON.parse(line) as { service?: unknown };
      assert.equal(typeof record.service, 'string', line);
    }
  });

  test('telemetry.logs.pretty chooses the log format when --log-format does not', async () => {
    const dir = tempDir();
    const file = join(dir, 'sluice.yaml');
    writeFileSync(
      file,
      [
        'version: 1',
        'telemetry: { logs: { pretty: true } }',
        'dashboard: false',
        `services: { api: { command: ${service}, health: /healthz } }`,
        '',
      ].join('\n'),
    );
    // Its stdout is a pipe, where the default would be JSON lines.
    const run = sluiceUp(file);
    await waitFor(
      'the URLs, printed for a reader',
      () =>
        /^\s+api\s+http:\/\/127\.0\.0\.1:\d+/m.test(run.stdout()) || run.child.exitCode !== null,
      { timeoutMs: 30_000 },
    );
    assert.match(run.stdout(), /^\s+api\s+http:\/\/127\.0\.0\.1:\d+/m, run.stderr());
    assert.ok(
      !run
        .stdout()
        .split('\n')
        .some((line) => line.startsWith('{')),
      run.stdout(),
    );
    run.child.kill('SIGTERM');
    assert.equal(await run.exited, 0, run.stderr());
  });

  test('an invalid file starts nothing', async () => {
    const dir = tempDir();
    const file = writeConfig(dir, [
      `  fine: { command: ${service}, env: { START_LOG: ${join(dir, 'start')} } }`,
      `  broken: { command: ${service}, upstreams: [fine, missing] }`,
    ]);
    const run = sluiceUp(file);
    assert.equal(await run.exited, 1);
    assert.match(
      run.stderr(),
      new RegExp(
        `${file.replaceAll('.', '\\.')}:4:\\d+ services\\.broken\\.upstreams\\[1\\]: unknown service "missing"`,
      ),
    );
    assert.deepEqual(linesOf(join(dir, 'start')), []);
  });

  test('a service that never becomes ready: exit 1, nothing left running', async () => {
    const dir = tempDir();
    const file = writeConfig(dir, [
      `  ok: { command: ${service}, health: /healthz, env: { START_LOG: ${join(dir, 'start')} } }`,
      `  sick: { command: ${service}, upstreams: [ok], env: { HEALTH: fail }, health: { path: /healthz, interval: 50ms, startTimeout: 3s } }`,
    ]);
    const run = sluiceUp(file, '--log-format', 'json');
    assert.equal(await run.exited, 1);
    assert.match(run.stdout(), /sick did not become ready within 3000 ms/);
    assert.deepEqual(linesOf(join(dir, 'start')), ['ok.0'], 'sick was started after ok');
    const pids = run
      .stdout()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { msg?: string; pid?: number; service?: string })
      .filter((r) => r.msg === 'listening')
      .map((r) => r.pid);
    assert.equal(pids.length, 2, run.stdout());
    await waitFor('no instance is left running', () => pids.every((pid) => !alive(pid)));
  });

  test('a second signal stops at once, killing what still drains', async () => {
    const dir = tempDir();
    const file = writeConfig(dir, [
      `  stubborn: { command: ${service}, health: /healthz, drainTimeout: 10m, env: { IGNORE_SIGTERM: 1, STOP_LOG: ${join(dir, 'stop')} } }`,
    ]);
    const run = sluiceUp(file, '--log-format', 'json', '--drain-timeout', '10m');
    const urls = await whenUp(run);
    const { pid } = await getJson(`${urls.stubborn!.url}/whoami`);
    run.child.kill('SIGINT');
    await waitFor('the instance was asked to stop', () => linesOf(join(dir, 'stop')).length === 1);
    assert.equal(run.child.exitCode, null, 'still draining');
    run.child.kill('SIGINT');
    assert.equal(await run.exited, 130);
    await waitFor('the instance is gone', () => !alive(pid as number));
  });

  test('POST /reload on the admin API reloads the gateway from the file', async () => {
    const dir = tempDir();
    const file = join(dir, 'sluice.yaml');
    const token = 'rux-admin-token-0123456789';
    const write = (routes: string[]): void =>
      writeFileSync(
        file,
        [
          'version: 1',
          'gateway:',
          '  listen: 127.0.0.1:0',
          `  admin: { listen: 127.0.0.1:0, token: ${token} }`,
          '  routes:',
          ...routes,
          'services:',
          `  api: { command: ${service}, health: /healthz }`,
          '',
        ].join('\n'),
      );
    // A route may name a service: the gateway reaches it where the supervisor serves it.
    write(['    - { path: /one, upstream: api, auth: none, rewrite: { path: /whoami } }']);
    const run = sluiceUp(file, '--log-format', 'json');
    const up = await whenUpWith(run);
    assert.ok(up.gateway !== undefined && up.admin !== undefined, run.stdout());
    assert.equal((await fetch(`${up.gateway}/one`)).status, 200);
    assert.equal((await fetch(`${up.gateway}/two`)).status, 404);
    const reload = (): Promise<Response> =>
      fetch(`${up.admin}/reload`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      });

    write([
      '    - { path: /one, upstream: api, auth: none, rewrite: { path: /whoami } }',
      '    - { path: /two, upstream: api, auth: none, rewrite: { path: /whoami } }',
    ]);
    const reloaded = await reload();
    assert.equal(reloaded.status, 200, await reloaded.clone().text());
    assert.deepEqual(await reloaded.json(), { reloaded: true, routes: 2 });
    assert.equal((await getJson(`${up.gateway}/two`)).service, 'api');

    // A file that would not start is refused whole; the running routes stay.
    write(['    - { path: /three, upstream: nowhere, auth: none }']);
    const refused = await reload();
    assert.equal(refused.status, 400);
    assert.match(await refused.text(), /unknown upstream \\"nowhere\\"/);
    assert.equal((await fetch(`${up.gateway}/two`)).status, 200);

    run.child.kill('SIGTERM');
    assert.equal(await run.exited, 0, run.stderr());
  });
});
