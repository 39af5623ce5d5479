import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { storefrontConfig, storefrontDir } from './system.js';

const cli = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('sluice up starts the storefront, then its gateway, and stops it all on SIGTERM', {
  timeout: 120_000,
}, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-storefront-cli-'));
  const config = await storefrontConfig(dataDir);
  for (const service of Object.values(config.services ?? {})) service.cwd = storefrontDir;
  const file = join(dataDir, 'sluice.yaml');
  writeFileSync(file, stringify(config));

  const child = spawn(
    process.execPath,
    ['--import', 'tsx', cli, 'up', file, '--log-format', 'json'],
    {
      env: { ...process.env, SLUICE_DATA: dataDir },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const exited = once(child, 'exit');
  const pids = new Set<number>();
  let gateway: string | undefined;
  const up = new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      let record: { pid?: number; service?: string; msg?: string; gateway?: string };
      try {
        record = JSON.parse(line) as typeof record;
      } catch {
        return;
      }
      if (record.service !== 'sluice' && typeof record.pid === 'number') pids.add(record.pid);
      if (record.msg === 'sluice is up') {
        gateway = record.gateway;
        resolve();
      }
    });
    exited.then(() => reject(new Error('sluice up exited before it was up')), reject);
  });

  try {
    await up;
    assert.ok(gateway !== undefined, 'the gateway URL is printed');
    const res = await fetch(`${gateway}/api/products`);
    assert.equal(res.status, 200);
    assert.ok(((await res.json()) as unknown[]).length > 0);
  } finally {
    child.kill('SIGTERM');
    const [code] = await exited;
    rmSync(dataDir, { recursive: true, force: true });
    assert.equal(code, 0);
    assert.deepEqual(
      [...pids].filter((pid) => alive(pid)),
      [],
      'every service process has exited',
    );
  }
});
