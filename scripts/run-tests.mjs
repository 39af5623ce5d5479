#!/usr/bin/env node
// Runs every test file under test/ with node:test (TypeScript through tsx).
// Usage: node scripts/run-tests.mjs [--no-engines] [filter...]
//   --no-engines  skip files under test/**/engines/ that need Redis, NATS, PostgreSQL, ...
//   filter        only files whose path contains one of the given strings
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const noEngines = args.includes('--no-engines');
const filters = args.filter((a) => !a.startsWith('--'));

function* walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else if (entry.name.endsWith('.test.ts')) yield path;
  }
}

const files = [...walk('test')]
  .filter((f) => !noEngines || !f.split('/').includes('engines'))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();

if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}

// Files that stop a shared engine, which would break the files running beside them: each
// runs alone, after all the others. (The other restart tests stop private engines.)
const alone = (f) => f.endsWith('rabbitmq-restart.test.ts');

// A hung test fails after 15 minutes, and the run goes on without it. (Node 20 applies this
// to each file as a whole, later versions to each test, so it is far above any file's time.)
const TEST_TIMEOUT_MS = 900_000;

const run = (batch) =>
  spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--test',
      '--test-reporter=spec',
      `--test-timeout=${TEST_TIMEOUT_MS}`,
      ...batch,
    ],
    { stdio: 'inherit' },
  ).status ?? 1;

let status = 0;
const together = files.filter((f) => !alone(f));
if (together.length > 0) status = run(together);
for (const file of files.filter(alone)) status = run([file]) || status;
process.exit(status);
