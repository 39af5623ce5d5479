import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { failureOf } from '../../src/cli/demo.js';
import { CircuitOpenError, TimeoutError } from '../../src/core/index.js';

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
  assert.match(stdout, /rejected fast: circuit open, payment not called/);
  for (const line of stdout.split('\n').filter((l) => l.includes('rejected fast'))) {
    assert.match(line, /upstream calls: 0 /, 'a call rejected fast made no upstream call');
  }
  const lastCalls = stdout
    .split('\n')
    .filter((l) => l.startsWith('  call '))
    .slice(-3);
  for (const line of lastCalls) assert.match(line, /charged {2}\[closed\]/);
});

test('only a call refused before any upstream call is "rejected fast"', () => {
  const open = new CircuitOpenError('open');
  assert.equal(failureOf(open, 0), 'rejected fast: circuit open, payment not called');
  // The first attempt timed out (250 ms) and opened the circuit; the retry was refused.
  assert.equal(failureOf(open, 1), 'circuit opened after 1 upstream call: retry stopped');
  assert.equal(failureOf(open, 2), 'circuit opened after 2 upstream calls: retry stopped');
  assert.equal(failureOf(new TimeoutError(250), 1), 'timed out');
  assert.equal(failureOf(new Error('503'), 3), 'failed: 503');
});
