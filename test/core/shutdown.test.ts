import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { handleSignals, Lifecycle } from '../../src/core/index.js';

const child = fileURLToPath(new URL('./fixtures/drain-child.ts', import.meta.url));

function run(env: Record<string, string> = {}): {
  proc: ChildProcess;
  lines: string[];
  waitFor: (line: string) => Promise<void>;
} {
  const proc = spawn(process.execPath, ['--import', 'tsx', child], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  after(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  const lines: string[] = [];
  const waiters: { line: string; resolve: () => void }[] = [];
  let buffered = '';
  proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      for (const w of waiters.filter((w) => w.line === line)) w.resolve();
    }
  });
  const waitFor = (line: string): Promise<void> =>
    lines.includes(line)
      ? Promise.resolve()
      : new Promise((resolve) => waiters.push({ line, resolve }));
  return { proc, lines, waitFor };
}

describe('handleSignals in a real process', () => {
  test('SIGTERM drains in reverse start order, then exits 0', async () => {
    const { proc, lines, waitFor } = run();
    await waitFor('ready');
    proc.kill('SIGTERM');
    const [code] = await once(proc, 'exit');
    assert.equal(code, 0);
    assert.deepEqual(lines, [
      'start db',
      'start queue',
      'start http',
      'ready',
      'got SIGTERM',
      'stop http',
      'stop queue',
      'stop db',
      'stopped http,queue,db',
    ]);
  });

  test('a second signal exits at once while draining', async () => {
    const { proc, lines, waitFor } = run({ SLUICE_TEST_HANG: '1' });
    await waitFor('ready');
    proc.kill('SIGTERM');
    await waitFor('stop http');
    proc.kill('SIGINT');
    const [code] = await once(proc, 'exit');
    assert.equal(code, 130);
    assert.deepEqual(lines.slice(4), ['got SIGTERM', 'stop http', 'again SIGINT']);
  });
});

describe('handleSignals listeners', () => {
  test('are removed once draining ends, and the exit code reports overruns', async () => {
    const before = process.listenerCount('SIGTERM');
    const codes: number[] = [];
    const lifecycle = new Lifecycle().add({ name: 'a', start() {}, stop() {} });
    await lifecycle.start();
    handleSignals(lifecycle, { exit: (code) => codes.push(code), signals: ['SIGTERM'] });
    assert.equal(process.listenerCount('SIGTERM'), before + 1);
    process.emit('SIGTERM', 'SIGTERM');
    await lifecycle.stop();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(codes, [0]);
    assert.equal(process.listenerCount('SIGTERM'), before);
  });

  test('the returned function removes them without stopping anything', async () => {
    const before = process.listenerCount('SIGINT');
    const lifecycle = new Lifecycle();
    const dispose = handleSignals(lifecycle, { exit: () => assert.fail('must not exit') });
    dispose();
    assert.equal(process.listenerCount('SIGINT'), before);
    assert.equal(lifecycle.state, 'idle');
  });
});
