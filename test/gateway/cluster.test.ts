import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../support/wait-for.js';
import { call, startUpstream, type TestUpstream } from './helpers.js';
import { h2Call, h2Connect, httpsCall, makeCertificate } from './tls-helpers.js';

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

/** The first answer of a server that is starting: refused connections are tried again. */
const untilServing = <T>(probe: () => Promise<T>): Promise<T> =>
  waitFor('the gateway to serve', () => probe().catch(() => undefined), {
    timeoutMs: 60_000,
    intervalMs: 100,
  }) as Promise<T>;

const children: ChildProcess[] = [];
const track = (child: ChildProcess): ChildProcess => {
  children.push(child);
  return child;
};

describe('sluice gateway --workers', () => {
  let dir: string;
  let upstream: TestUpstream;

  /** `sluice gateway -c FILE --workers 2` on `port`; `lines` complete the gateway section. */
  const startWorkers = (
    port: number,
    lines: string,
    output: 'ignore' | 'pipe' = 'ignore',
  ): ChildProcess => {
    const file = join(dir, `sluice-${port}.yaml`);
    writeFileSync(
      file,
      `version: 1\ngateway:\n  listen: 127.0.0.1:${port}\n  metrics: false\n  accessLog: false\n${lines}`,
    );
    // cluster.fork() re-runs the main script, so the command needs a real file.
    const main = join(dir, 'main.mjs');
    const cli = new URL('../../src/cli/gateway.ts', import.meta.url).pathname;
    writeFileSync(
      main,
      `const m = await import(${JSON.stringify(cli)});\nprocess.exit(await m.runGatewayCommand(process.argv.slice(2)));\n`,
    );
    return track(
      spawn(
        process.execPath,
        ['--import', 'tsx', main, '-c', file, '--workers', '2', '--no-watch'],
        {
          stdio: ['ignore', output, output === 'pipe' ? 'pipe' : 'inherit'],
        },
      ),
    );
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-gw-cluster-'));
    upstream = await startUpstream((seen, respond) =>
      respond(200, {}, String(seen.headers['x-forwarded-for'])),
    );
  });

  after(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves from several workers and keeps a local rate limit exact across them', {
    timeout: 120_000,
  }, async () => {
    const port = await freePort();
    const child = startWorkers(
      port,
      `  tracing: false
  shedding: false
  routes:
    - { path: /login, upstream: ${upstream.url}, rateLimit: { by: route, limit: 5/min } }
`,
    );
    try {
      const first = await untilServing(() =>
        call(`http://127.0.0.1:${port}/login`, { headers: { connection: 'close' } }),
      );
      const statuses = [first.status];
      // A new connection each time, so the requests spread over both workers.
      for (let i = 0; i < 7; i++) {
        statuses.push(
          (await call(`http://127.0.0.1:${port}/login`, { headers: { connection: 'close' } }))
            .status,
        );
      }
      assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429, 429, 429]);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await new Promise<number | null>((r) => child.on('exit', r)), 0);
  });

  it('serves HTTPS and HTTP/2 from every worker', {
    timeout: 120_000,
  }, async () => {
    const port = await freePort();
    const cert = makeCertificate(dir, 'gateway');
    const child = startWorkers(
      port,
      `  tls: { cert: gateway.pem, key: gateway.key }
  http2: true
  routes:
    - { path: /*, upstream: ${upstream.url} }
`,
    );
    const url = `https://127.0.0.1:${port}`;
    try {
      await untilServing(() => httpsCall(url, cert.cert));
      // A new connection each time, so the requests spread over both workers.
      for (let i = 0; i < 4; i++) {
        assert.equal((await httpsCall(url, cert.cert)).status, 200);
        const session = await h2Connect(url, cert.cert);
        try {
          assert.equal((await h2Call(session, { ':path': '/' })).status, 200);
        } finally {
          session.close();
        }
      }
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await new Promise<number | null>((r) => child.on('exit', r)), 0);
  });
  it('refuses a file no worker could start from, without forking', {
    timeout: 60_000,
  }, async () => {
    const child = startWorkers(await freePort(), '  routes: 5\n', 'pipe');
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    assert.equal(code, 1);
    assert.match(stderr, /routes/);
  });

  it('backs off while replacement workers keep dying, and the others keep serving', {
    timeout: 120_000,
  }, async () => {
    const port = await freePort();
    const child = startWorkers(
      port,
      `  routes:\n    - { path: /*, upstream: ${upstream.url} }\n`,
      'pipe',
    );
    const deaths: { attempt: number; delayMs: number }[] = [];
    let pending = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.includes('worker died')) continue;
        const { attempt, delayMs } = JSON.parse(line) as { attempt: number; delayMs: number };
        deaths.push({ attempt, delayMs });
      }
    });
    try {
      await untilServing(() => call(`http://127.0.0.1:${port}/`));
      // Every worker forked from now on fails to start; the one left keeps serving.
      writeFileSync(join(dir, `sluice-${port}.yaml`), 'version: 1\ngateway:\n  routes: 5\n');
      const [victim] = execFileSync('pgrep', ['-P', String(child.pid)])
        .toString()
        .trim()
        .split('\n');
      process.kill(Number(victim), 'SIGKILL');
      await waitFor('three deaths in a row', () => deaths.length >= 3 || undefined, {
        timeoutMs: 60_000,
      });
      assert.deepEqual(deaths.slice(0, 3), [
        { attempt: 1, delayMs: 500 },
        { attempt: 2, delayMs: 1000 },
        { attempt: 3, delayMs: 2000 },
      ]);
      assert.equal(child.exitCode, null);
      assert.equal(
        (await call(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } })).status,
        200,
      );
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await new Promise<number | null>((r) => child.on('exit', r)), 0);
  });
});
