import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { alive, service, tempDir } from '../runtime/helpers.js';
import { waitFor } from '../support/wait-for.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

function up(dashboard: string): { child: ChildProcess; out: () => string; err: () => string } {
  const dir = tempDir();
  const file = join(dir, 'sluice.yaml');
  writeFileSync(
    file,
    [
      'version: 1',
      dashboard,
      'services:',
      `  api: { command: ${service}, health: /healthz }`,
      '',
    ].join('\n'),
  );
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'up', file, '--log-format', 'json'],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  return { child, out: () => out, err: () => err };
}

function upRecord(text: string): Record<string, unknown> | undefined {
  const line = text.split('\n').find((l) => l.includes('"sluice is up"'));
  return line === undefined ? undefined : (JSON.parse(line) as Record<string, unknown>);
}

test('sluice up serves the dashboard, prints its URL, and keeps the token out of the log', {
  timeout: 60_000,
}, async () => {
  const run = up('dashboard: { port: 0 }');
  const tokenOf = (): string | undefined =>
    /dashboard token for actions: (\S+)/.exec(run.err())?.[1];
  // stdout and stderr are two pipes: the token's line may come in after "sluice is up".
  await waitFor(
    'sluice is up and the token printed',
    () =>
      (upRecord(run.out()) !== undefined && tokenOf() !== undefined) || run.child.exitCode !== null,
    { timeoutMs: 30_000 },
  );
  const record = upRecord(run.out());
  assert.ok(record, `not up:\n${run.out()}\n${run.err()}`);
  const url = record.dashboard as string;
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const token = tokenOf();
  assert.ok(token, `the token is on stderr: ${run.err()}`);
  assert.ok(!run.out().includes(token), 'the token is not in the merged log');

  const page = await (await fetch(`${url}/services`)).text();
  assert.match(page, /api\.0/);
  const pid = Number(/<td class="n">(\d+)<\/td>/.exec(page)?.[1]);
  assert.ok(alive(pid));
  const restart = (authorization?: string) =>
    fetch(`${url}/actions/restart`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(authorization === undefined ? {} : { authorization }),
      },
      body: 'service=api&instance=0',
    });
  assert.equal((await restart()).status, 401);
  assert.ok(alive(pid), 'no token, no restart');
  const done = await restart(`Bearer ${token}`);
  assert.equal(done.status, 200, await done.clone().text());
  await waitFor('the instance was killed', () => !alive(pid), { timeoutMs: 10_000 });

  run.child.kill('SIGTERM');
  await waitFor('sluice stopped', () => run.child.exitCode !== null, { timeoutMs: 30_000 });
  assert.equal(run.child.exitCode, 0, run.err());
});

test('dashboard: false serves none', { timeout: 60_000 }, async () => {
  const run = up('dashboard: false');
  await waitFor(
    'sluice is up',
    () => upRecord(run.out()) !== undefined || run.child.exitCode !== null,
    { timeoutMs: 30_000 },
  );
  const record = upRecord(run.out());
  assert.ok(record, run.err());
  assert.equal(record.dashboard, undefined);
  run.child.kill('SIGTERM');
  await waitFor('sluice stopped', () => run.child.exitCode !== null, { timeoutMs: 30_000 });
});
