import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { listen } from '../../src/runtime/ports.js';
import { startOtlpCollector } from '../support/otlp-collector.js';
import { call, startUpstream, type TestUpstream } from './helpers.js';

/** Log lines of the child, as parsed JSON, each awaited by a predicate. */
function logLines(
  child: ChildProcess,
): (match: (line: Record<string, unknown>) => boolean) => Promise<Record<string, unknown>> {
  const seen: Record<string, unknown>[] = [];
  const waiting: {
    match: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }[] = [];
  createInterface({ input: child.stdout! }).on('line', (text) => {
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    seen.push(line);
    for (const w of [...waiting]) {
      if (w.match(line)) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  return (match) => {
    const found = seen.find(match);
    if (found) {
      seen.splice(seen.indexOf(found), 1);
      return Promise.resolve(found);
    }
    return new Promise((resolve) => waiting.push({ match, resolve }));
  };
}

const yaml = (upstream: string, path: string, extra = '') => `version: 1
gateway:
  listen: 127.0.0.1:0
  metrics: false
  tracing: false
  routes:
    - { name: main, path: ${path}, upstream: ${upstream} }
${extra}`;

const children: ChildProcess[] = [];
const track = (child: ChildProcess): ChildProcess => {
  children.push(child);
  return child;
};

/** `sluice gateway -c FILE --no-watch` through the command table, once it listens. */
async function startCommand(file: string) {
  const child = track(
    spawn(process.execPath, ['--import', 'tsx', '-e', command(['-c', file, '--no-watch'])], {
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  const next = logLines(child);
  const listening = await next((l) => l.msg === 'gateway listening');
  return { child, next, url: listening.url as string, admin: listening.admin as string };
}

describe('sluice gateway -c FILE', () => {
  let dir: string;
  let upstream: TestUpstream;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-gw-'));
    upstream = await startUpstream();
  });

  after(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a second signal while draining exits at once, 128 + the signal', {
    timeout: 120_000,
  }, async () => {
    // An upstream that never answers keeps the drain going.
    let received!: () => void;
    const arrived = new Promise<void>((resolve) => {
      received = resolve;
    });
    const hanging = createServer(() => received());
    const port = await listen(hanging, 0, '127.0.0.1');
    const file = join(dir, 'hanging.yaml');
    writeFileSync(
      file,
      yaml(`http://127.0.0.1:${port}`, '/h/*', '').replace(
        'gateway:\n',
        'gateway:\n  limits: { drainTimeout: 10m }\n',
      ),
    );
    const { child, next, url } = await startCommand(file);
    try {
      void call(`${url}/h/a`).catch(() => {});
      await arrived;
      child.kill('SIGTERM');
      const draining = await next((l) => l.msg === 'draining');
      assert.equal(draining.signal, 'SIGTERM');
      assert.equal(draining.inflight, 1);
      child.kill('SIGINT');
      assert.equal(await new Promise<number | null>((r) => child.on('exit', r)), 130);
    } finally {
      hanging.closeAllConnections();
      hanging.close();
    }
  });

  it('refuses an invalid file with its line and key path, and exit code 1', {
    timeout: 120_000,
  }, async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'version: 1\ngateway:\n  routes:\n    - { path: nope, upstream: x }\n');
    const child = track(
      spawn(process.execPath, ['--import', 'tsx', '-e', script(file)], {
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    assert.equal(code, 1);
    assert.match(stderr, /bad\.yaml:4:\d+ gateway\.routes\[0\]\.path/);
  });

  it('serves, reloads on SIGHUP, keeps the old config on a bad edit, drains on SIGTERM', {
    timeout: 120_000,
  }, async () => {
    const file = join(dir, 'sluice.yaml');
    writeFileSync(file, yaml(upstream.url, '/v1/*'));
    const child = track(
      spawn(process.execPath, ['--import', 'tsx', '-e', script(file, ['--no-watch'])], {
        stdio: ['ignore', 'pipe', 'inherit'],
      }),
    );
    const next = logLines(child);
    try {
      const listening = await next((l) => l.msg === 'gateway listening');
      const url = listening.url as string;
      assert.equal((await call(`${url}/v1/a`)).status, 200);

      writeFileSync(file, yaml(upstream.url, '/v2/*'));
      child.kill('SIGHUP');
      await next((l) => l.msg === 'configuration reloaded');
      assert.equal((await call(`${url}/v2/a`)).status, 200);
      assert.equal((await call(`${url}/v1/a`)).status, 404);

      writeFileSync(file, yaml(upstream.url, 'not-a-path'));
      child.kill('SIGHUP');
      const failed = await next((l) => String(l.msg).startsWith('reload failed'));
      assert.match(String(failed.err), /gateway\.routes\[0\]\.path/);
      assert.equal((await call(`${url}/v2/a`)).status, 200);

      const access = await next((l) => l.msg === 'access' && l.path === '/v2/a');
      assert.equal(access.status, 200);
      assert.equal(access.route, 'main');
    } finally {
      child.kill('SIGTERM');
    }
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    assert.equal(code, 0);
  });

  it('exports the standard process metrics at its admin /metrics, as every Sluice process does', {
    timeout: 120_000,
  }, async () => {
    const file = join(dir, 'process-metrics.yaml');
    const admin = '  admin: { listen: 0, token: admin-token-0123456789 }\n';
    writeFileSync(file, yaml(upstream.url, '/*').replace('  metrics: false\n', admin));
    const { child, admin: adminUrl } = await startCommand(file);
    try {
      const text = (await call(`${adminUrl}/metrics`)).text;
      for (const name of ['process_resident_memory_bytes', 'nodejs_heap_size_used_bytes']) {
        assert.match(text, new RegExp(`^${name} \\d`, 'm'), name);
      }
      assert.match(text, /^# TYPE nodejs_gc_duration_seconds histogram$/m);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await new Promise<number | null>((r) => child.on('exit', r)), 0);
  });

  it('exports spans where telemetry.traces says, and hands the upstream the context', {
    timeout: 120_000,
  }, async () => {
    const collector = await startOtlpCollector();
    const otlp = collector.url;
    const file = join(dir, 'traced.yaml');
    writeFileSync(
      file,
      yaml(upstream.url, '/t/*').replace('  tracing: false\n', '') +
        `telemetry:\n  traces: { otlp: ${otlp}, sample: 100%, serviceName: edge-gateway }\n`,
    );
    const { child, url } = await startCommand(file);
    try {
      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      const reply = await call(`${url}/t/a`, {
        headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      });
      assert.equal(reply.status, 200);
      const traceparent = String(upstream.seen.at(-1)!.headers.traceparent);
      const [, sentTrace, parent, flags] = traceparent.split('-');
      assert.equal(sentTrace, traceId, 'the upstream is in the caller trace');
      assert.notEqual(parent, '00f067aa0ba902b7', "the upstream's parent is the gateway's span");
      assert.equal(flags, '01');
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await new Promise<number | null>((r) => child.on('exit', r)), 0);
    collector.close();
    // The drain flushed the batch: the route's span, under the configured service name.
    const sent = Buffer.concat(
      collector.received.filter((r) => r.path === '/v1/traces').map((r) => r.body),
    );
    assert.ok(sent.includes('edge-gateway'), 'the service name did not reach the collector');
    assert.ok(sent.includes('GET main'), 'the route span did not reach the collector');
  });

  it('refuses a bad telemetry.traces section as sluice up would', {
    timeout: 120_000,
  }, async () => {
    const file = join(dir, 'bad-traces.yaml');
    writeFileSync(file, `${yaml(upstream.url, '/t/*')}telemetry:\n  traces: { otlp: nowhere }\n`);
    const child = track(
      spawn(process.execPath, ['--import', 'tsx', '-e', command(['-c', file])], {
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    assert.equal(await new Promise<number | null>((r) => child.on('exit', r)), 1);
    assert.match(stderr, /bad-traces\.yaml:\d+:\d+ telemetry\.traces\.otlp/);
  });

  it('reloads when the file changes', { timeout: 120_000 }, async () => {
    const file = join(dir, 'watched.yaml');
    writeFileSync(file, yaml(upstream.url, '/one/*'));
    const child = track(
      spawn(process.execPath, ['--import', 'tsx', '-e', script(file)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      }),
    );
    const next = logLines(child);
    try {
      const url = (await next((l) => l.msg === 'gateway listening')).url as string;
      writeFileSync(file, yaml(upstream.url, '/two/*'));
      const reloaded = await next((l) => l.msg === 'configuration reloaded');
      assert.equal(reloaded.why, 'file changed');
      assert.equal((await call(`${url}/two/a`)).status, 200);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await new Promise<number | null>((r) => child.on('exit', r)), 0);
  });
});

function script(file: string, extra: string[] = []): string {
  const args = JSON.stringify(['-c', file, ...extra]);
  return `import('${new URL('../../src/cli/gateway.ts', import.meta.url).pathname}').then(async (m) => process.exit(await m.runGatewayCommand(${args})))`;
}

/** `sluice gateway ARGS` through the command table, as the `sluice` binary runs it. */
function command(args: string[]): string {
  const commands = new URL('../../src/cli/commands.ts', import.meta.url).pathname;
  return `import('${commands}').then(async (m) => process.exit(await m.commands.gateway.run(${JSON.stringify(args)})))`;
}
