#!/usr/bin/env node
// Runs the public HTTP cache test suite (github.com/http-tests/cache-tests, not part of
// this repository) against a cache and counts what passed the way its results page does:
// required tests (kind unset or "required") and optional ones ("optimal"), with
// dependencies honoured. Browser-only tests are left out.
//
//   node scripts/cache-conformance.mjs <cache-tests checkout> <base URL of the cache> [out.json]
//
// The suite's own server must be running behind the cache (see README, "Gateway").
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [dir, base, out] = process.argv.slice(2);
if (!dir || !base) {
  console.error(
    'usage: node scripts/cache-conformance.mjs <cache-tests dir> <base URL> [out.json]',
  );
  process.exit(2);
}
const root = resolve(dir);
const run = spawnSync(process.execPath, ['--no-warnings', 'test-engine/cli.mjs'], {
  cwd: root,
  env: { ...process.env, npm_config_base: base, npm_package_config_id: '' },
  encoding: 'utf8',
  maxBuffer: 64 * 1024 * 1024,
});
if (run.status !== 0) {
  console.error(run.stderr);
  process.exit(1);
}
const results = JSON.parse(run.stdout);
if (out) writeFileSync(out, JSON.stringify(results, null, 2));

const load = (path) => import(pathToFileURL(resolve(root, path)).href);
const { default: suites } = await load('tests/index.mjs');
const { determineTestResult, resultTypes } = await load('test-engine/lib/results.mjs');
const counts = { required: [0, 0], optional: [0, 0] };
const failed = [];
for (const suite of suites) {
  for (const test of suite.tests) {
    if (test.browser_only) continue;
    const kind = test.kind ?? 'required';
    if (kind !== 'required' && kind !== 'optimal') continue;
    const passed = determineTestResult(suites, test.id, results) === resultTypes.pass;
    const count = counts[kind === 'required' ? 'required' : 'optional'];
    count[1]++;
    if (passed) count[0]++;
    else failed.push(`${kind === 'required' ? 'required' : 'optional'} ${test.id}`);
  }
}
console.log(
  `${base}: required ${counts.required[0]}/${counts.required[1]}, optional ${counts.optional[0]}/${counts.optional[1]}`,
);
for (const line of failed) console.log(`  not passed: ${line}`);
