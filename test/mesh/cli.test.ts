import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isUsageError } from '../../src/cli/errors.js';
import { type MeshControlConnect, runSidecar } from '../../src/cli/sidecar.js';
import { waitFor } from '../support/wait-for.js';
import {
  idOf,
  issueSvid,
  makeMeshCa,
  StubControl,
  StubRegistry,
  startApp,
  type TestApp,
} from './helpers.js';

describe('sluice sidecar command', () => {
  let dir: string;
  let app: TestApp;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-mesh-cli-'));
    app = await startApp();
  });

  after(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a command line that lacks what it needs', async () => {
    const never = async () => assert.fail('no control plane without a valid command line');
    for (const args of [
      ['--control', 'http://x', '--app-port', '1', '--token', 't'],
      ['--service', 'a', '--app-port', '1', '--token', 't'],
      ['--service', 'a', '--control', 'http://x', '--app-port', 'x', '--token', 't'],
      [
        '--service',
        'a',
        '--control',
        'http://x',
        '--app-port',
        '1',
        '--token',
        't',
        '--upstream',
        'b',
      ],
    ]) {
      await assert.rejects(runSidecar(args, never), isUsageError, args.join(' '));
    }
  });

  it('refuses a policy file with problems before it connects', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'policies:\n  payment:\n    timeout: soon\n');
    const never = async () => assert.fail('not connected with a bad policy');
    await assert.rejects(
      runSidecar(
        [
          '--service',
          'a',
          '--control',
          'http://x',
          '--app-port',
          '1',
          '--token',
          't',
          '--policy',
          file,
        ],
        never,
      ),
      (error: Error) =>
        error.message.includes(`${file}:3:`) && error.message.includes('policies.payment.timeout'),
    );
  });

  it('runs with the factory it is given, serves /ready, and drains on SIGTERM', async () => {
    const ca = makeMeshCa(dir, 'mesh');
    const registry = new StubRegistry();
    let asked: MeshControlConnect | undefined;
    const factory = async (options: MeshControlConnect) => {
      asked = options;
      return new StubControl(registry, issueSvid(ca, [idOf('orders', 'sluice.local')]));
    };
    const lines: string[] = [];
    const log = console.log;
    console.log = (line: string) => lines.push(line);
    let exit: Promise<number>;
    try {
      exit = runSidecar(
        [
          '--service',
          'orders',
          '--control',
          'http://127.0.0.1:1',
          '--token',
          'tok',
          '--app-port',
          String(app.port),
          '--listen',
          '127.0.0.1:0',
          '--admin',
          '127.0.0.1:0',
          '--upstream',
          'payment=0',
          '--label',
          'version=v2',
          '--instance',
          'orders-a',
        ],
        factory,
      );
      await waitFor('a line on the console', () => lines.length > 0);
    } finally {
      console.log = log;
    }
    assert.equal(asked?.token, 'tok');
    assert.equal(asked?.trustDomain, 'sluice.local');
    const started = JSON.parse(lines[0]!) as { admin: number; upstreams: Record<string, number> };
    assert.equal((await fetch(`http://127.0.0.1:${started.admin}/ready`)).status, 200);
    assert.ok(started.upstreams.payment! > 0);
    const registered = registry.of('orders')[0]!;
    assert.equal(registered.instance, 'orders-a');
    assert.deepEqual(registered.labels, { version: 'v2' });
    process.emit('SIGTERM', 'SIGTERM');
    assert.equal(await exit, 0);
    assert.deepEqual(registry.of('orders'), []);
  });
});
