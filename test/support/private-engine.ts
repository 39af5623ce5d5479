// An engine of the test's own, on a free port with its data in a temp dir, that a test may
// stop and start again without disturbing the shared engines other test files use.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from '../conformance/helpers.js';
import { answers } from './engines.js';

const run = promisify(execFile);

export type PrivateEngineKind = 'redis' | 'nats' | 'postgres';

export interface PrivateEngine {
  readonly url: string;
  /** Stops the engine, runs `whileDown`, then starts it again on the same port and data. */
  restart(whileDown: () => Promise<void>): Promise<void>;
  /** Stops it for good and removes its data. */
  dispose(): Promise<void>;
}

/** A port nothing listens on now: taken from the kernel, then given back. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** How to run one kind of engine in `dir` on `port`. */
interface Recipe {
  readonly url: (port: number) => string;
  prepare?(dir: string, port: number): Promise<void>;
  start(dir: string, port: number): Promise<ChildProcess | undefined>;
  /** For engines that are not our child process. */
  stop?(dir: string): Promise<void>;
}

/** A server run as our child, stopped with SIGTERM. */
function child(command: string, args: string[]): ChildProcess {
  const server = spawn(command, args, { stdio: 'ignore' });
  server.on('error', () => {});
  return server;
}

/** PostgreSQL refuses to run as root: its tools run as the postgres user. */
function asPostgres(command: string, args: string[]) {
  return process.getuid?.() === 0
    ? run('runuser', ['-u', 'postgres', '--', command, ...args])
    : run(command, args);
}

const recipes: Record<PrivateEngineKind, Recipe> = {
  redis: {
    url: (port) => `redis://127.0.0.1:${port}`,
    start: async (dir, port) =>
      child('redis-server', [
        '--bind',
        '127.0.0.1',
        '--port',
        String(port),
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
      ]),
  },
  nats: {
    url: (port) => `nats://127.0.0.1:${port}`,
    start: async (dir, port) =>
      child('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir]),
  },
  postgres: {
    url: (port) => `postgres://postgres@127.0.0.1:${port}/postgres`,
    async prepare(dir) {
      if (process.getuid?.() === 0) await run('chown', ['postgres:postgres', dir]);
      await asPostgres('initdb', ['-D', join(dir, 'data'), '-U', 'postgres', '--auth=trust', '-N']);
    },
    async start(dir, port) {
      await asPostgres('pg_ctl', [
        'start',
        '-w',
        '-D',
        join(dir, 'data'),
        '-l',
        join(dir, 'log'),
        '-o',
        `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
      ]);
      return undefined;
    },
    async stop(dir) {
      await asPostgres('pg_ctl', ['stop', '-w', '-m', 'fast', '-D', join(dir, 'data')]);
    },
  },
};

export async function startPrivateEngine(kind: PrivateEngineKind): Promise<PrivateEngine> {
  const recipe = recipes[kind];
  const dir = mkdtempSync(join(tmpdir(), `sluice-private-${kind}-`));
  const port = await freePort();
  let server: ChildProcess | undefined;
  let up = false;
  const start = async () => {
    server = await recipe.start(dir, port);
    await waitFor(`the private ${kind} to answer on :${port}`, () => answers(port), {
      timeoutMs: 60_000,
    });
    up = true;
  };
  const stop = async () => {
    if (!up) return;
    up = false;
    if (recipe.stop !== undefined) await recipe.stop(dir);
    else if (server !== undefined && server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((resolve) => server!.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
    }
    await waitFor(`the private ${kind} to stop`, async () => !(await answers(port)), {
      timeoutMs: 60_000,
    });
  };
  try {
    await recipe.prepare?.(dir, port);
    await start();
  } catch (error) {
    up = true; // whatever did start, stop it
    await stop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: recipe.url(port),
    async restart(whileDown) {
      await stop();
      try {
        await whileDown();
      } finally {
        await start();
      }
    },
    async dispose() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
