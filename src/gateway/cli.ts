import cluster from 'node:cluster';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, type SchemaObject } from '../core/config/index.js';
import { isConfigError } from '../core/errors.js';
import type { Component } from '../core/lifecycle.js';
import { createLogger, type Logger } from '../observe/index.js';
import { serveClusterLimits } from './cluster-limiter.js';
import type { GatewayConfig } from './config.js';
import { gatewayConfigSchema } from './config-schema.js';
import { Gateway } from './gateway.js';
import { watchFile } from './watch.js';

const usage = `Usage: sluice gateway -c FILE [--workers N] [--no-watch]

Runs the gateway declared in the gateway: section of FILE (default sluice.yaml), and
exports its spans where telemetry.traces in FILE says (read at start only).
SIGHUP or a change to FILE reloads it; an invalid file keeps the running config.
A change to its certificate files serves them to new connections.
SIGINT or SIGTERM drains in-flight requests, then exits.
--workers N runs N processes on the same port (node:cluster); local rate limits stay
exact (kept by the primary), Redis-backed ones are shared as always.`;

/**
 * `telemetry.traces` of the file, read and run as `sluice up` does. The `sluice` command
 * hands in the supervisor's schema piece and component: the runtime sits above the
 * gateway, which cannot import them.
 */
export interface TracesSection<T> {
  schema: SchemaObject;
  component(traces: T): Component;
}

interface GatewayFile<T> {
  gateway: GatewayConfig;
  telemetry?: { traces?: T };
}

// The rest of the file is checked by `sluice validate`; here only what the command reads.
function fileSchema(traces: SchemaObject | undefined): SchemaObject {
  return {
    type: 'object',
    properties: {
      gateway: gatewayConfigSchema,
      ...(traces ? { telemetry: { type: 'object', properties: { traces } } } : {}),
    },
    required: ['gateway'],
  };
}

const gatewayOnly = fileSchema(undefined);

async function loadGatewayFile<T>(file: string, schema: SchemaObject): Promise<GatewayFile<T>> {
  const whole = await loadConfig<GatewayFile<T>>(file, { schema });
  return { ...whole, gateway: { accessLog: true, ...whole.gateway } };
}

export async function loadGatewayConfig(file: string): Promise<GatewayConfig> {
  return (await loadGatewayFile(file, gatewayOnly)).gateway;
}

/** `sluice gateway -c FILE`: resolves with the exit code once the gateway has stopped. */
export async function runGateway<T>(args: string[], traces?: TracesSection<T>): Promise<number> {
  let values: {
    config?: string | undefined;
    help?: boolean | undefined;
    'no-watch'?: boolean | undefined;
    workers?: string | undefined;
  };
  try {
    ({ values } = parseArgs({
      args,
      options: {
        config: { type: 'string', short: 'c' },
        help: { type: 'boolean', short: 'h' },
        'no-watch': { type: 'boolean' },
        workers: { type: 'string', short: 'w' },
      },
    }));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${usage}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const file = resolve(values.config ?? 'sluice.yaml');
  const log: Logger = createLogger({ name: 'sluice-gateway' });
  const workers = Number(values.workers ?? 1);
  if (!Number.isInteger(workers) || workers < 1) {
    process.stderr.write(`--workers must be a positive integer\n${usage}\n`);
    return 2;
  }
  if (workers > 1 && cluster.isPrimary) return runPrimary(workers, log);
  const schema = traces ? fileSchema(traces.schema) : gatewayOnly;
  let gateway: Gateway;
  let tracing: Component | undefined;
  try {
    const whole = await loadGatewayFile<T>(file, schema);
    const tracesConfig = whole.telemetry?.traces;
    if (traces && tracesConfig !== undefined) {
      tracing = traces.component(tracesConfig);
      await tracing.start();
    }
    gateway = await Gateway.start(whole.gateway, {
      baseDir: dirname(file),
      load: async () => (await loadGatewayFile(file, schema)).gateway,
      logger: log,
      workers,
      watchCertificates: !values['no-watch'],
    });
  } catch (error) {
    await stopTracing(tracing);
    process.stderr.write(
      `${isConfigError(error) || error instanceof Error ? error.message : String(error)}\n`,
    );
    return 1;
  }
  const reload = (why: string): void => {
    gateway.reload().then(
      () => log.info({ why, routes: gateway.runtime.routes.length }, 'configuration reloaded'),
      (error: unknown) =>
        log.error(
          { why, err: error instanceof Error ? error.message : String(error) },
          'reload failed; kept the running configuration',
        ),
    );
  };
  const onHup = (): void => reload('SIGHUP');
  process.on('SIGHUP', onHup);
  const unwatch = values['no-watch'] ? () => {} : watchFile(file, () => reload('file changed'));
  // Announced once reloads are armed: whoever waits for this line may edit the file at once.
  log.info({ url: gateway.url, admin: gateway.adminUrl, config: file }, 'gateway listening');

  return new Promise<number>((done) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        done(signal === 'SIGINT' ? 130 : 143);
        return;
      }
      stopping = true;
      log.info({ signal, inflight: gateway.inflight }, 'draining');
      unwatch();
      process.off('SIGHUP', onHup);
      gateway
        .close()
        .then(() => stopTracing(tracing))
        .then(
          () => {
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
            done(0);
          },
          () => done(1),
        );
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** Flushes the spans still batched; the gateway has drained by then. */
async function stopTracing(tracing: Component | undefined): Promise<void> {
  await tracing?.stop({ drainTimeout: 5_000, signal: AbortSignal.timeout(5_000) });
}

/** The cluster primary: keeps `count` workers running, relays SIGHUP, drains on SIGTERM. */
function runPrimary(count: number, log: Logger): Promise<number> {
  let stopping = false;
  const fork = (): void => {
    const worker = cluster.fork();
    serveClusterLimits(worker);
    worker.once('exit', (code, signal) => {
      if (stopping) return;
      log.error({ pid: worker.process.pid, code, signal }, 'worker died; starting another');
      fork();
    });
  };
  for (let i = 0; i < count; i++) fork();
  const workers = () => Object.values(cluster.workers ?? {}).filter((w) => w !== undefined);
  const onHup = (): void => {
    for (const w of workers()) w.process.kill('SIGHUP');
  };
  process.on('SIGHUP', onHup);
  return new Promise<number>((done) => {
    const stop = (): void => {
      if (stopping) return;
      stopping = true;
      process.off('SIGHUP', onHup);
      const running = workers();
      if (running.length === 0) done(0);
      let left = running.length;
      for (const w of running) {
        w.once('exit', () => {
          if (--left === 0) {
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
            done(0);
          }
        });
        w.process.kill('SIGTERM');
      }
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
