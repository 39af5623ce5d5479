import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const main = new URL('../../dist/cli/main.js', import.meta.url).pathname;

test('sluice demo shows the breaker opening on an outage and closing on recovery', async () => {
  const { stdout } = await run(process.execPath, [main, 'demo', '--fast']);
  const transitions = stdout
    .split('\n')
    .filter((l) => l.trim().startsWith('breaker '))
    .map((l) => l.trim().split(' (')[0]);
  assert.equal(transitions[0], 'breaker closed -> open');
  assert.equal(transitions.at(-1), 'breaker half-open -> closed');
  assert.match(stdout, /rejected fast: circuit open/);
  const lastCalls = stdout
    .split('\n')
    .filter((l) => l.startsWith('  call '))
    .slice(-3);
  for (const line of lastCalls) assert.match(line, /charged {2}\[closed\]/);
});
