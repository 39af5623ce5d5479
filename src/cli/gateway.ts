import cluster from 'node:cluster';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  handleSignals,
  isConfigError,
  Lifecycle,
  loadConfig,
  parseDuration,
  type SchemaObject,
} from '../core/index.js';
import type { GatewayConfig } from '../gateway/config.js';
import { gatewayConfigSchema } from '../gateway/config-schema.js';
import { watchFile } from '../gateway/watch.js';
import { collectProcessMetrics, createLogger, type Logger } from '../observe/index.js';
import { tracesSchema } from '../runtime/config/schema.js';
import { GatewayComponent } from '../runtime/gateway.js';
import { TracingComponent } from '../runtime/tracing.js';
import { GatewayWorkers } from './gateway-workers.js';

const usage = `Usage: sluice gateway -c FILE [--workers N] [--no-watch]

Runs the gateway declared in the gateway: section of FILE (default sluice.yaml), and
exports its spans where telemetry.traces in FILE says (read at start only).
SIGHUP or a change to FILE reloads it; an invalid file keeps the running config.
A change to its certificate files serves them to new connections.
SIGINT or SIGTERM drains in-flight requests, then exits.
--workers N runs N processes on the same port (node:cluster); local rate limits stay
exact (kept by the primary), Redis-backed ones are shared as always. A worker that dies
is replaced, after a delay that doubles from 0.5 s to 30 s while workers keep dying.`;

type Traces = ConstructorParameters<typeof TracingComponent>[0];

interface GatewayFile {
  gateway: GatewayConfig;
  telemetry?: { traces?: Traces };
}

// The rest of the file is checked by `sluice validate`; here only what the command reads.
const fileSchema: SchemaObject = {
  type: 'object',
  properties: {
    gateway: gatewayConfigSchema,
    telemetry: { type: 'object', properties: { traces: tracesSchema } },
  },
  required: ['gateway'],
};

async function loadGatewayFile(file: string): Promise<GatewayFile> {
  const whole = await loadConfig<GatewayFile>(file, { schema: fileSchema });
  // The command logs every response unless the file says otherwise.
  return { ...whole, gateway: { accessLog: true, ...whole.gateway } };
}

/** Time for the spans still batched once the gateway has drained. */
const flushMs = 5_000;

/**
 * `sluice gateway -c FILE`: resolves with the exit code once the gateway has stopped: 0
 * after a clean drain, 1 when the file is invalid or the drain failed, 2 on bad usage,
 * 128+n when a second signal cut the drain short.
 */
export async function runGatewayCommand(args: string[]): Promise<number> {
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
  if (workers > 1 && cluster.isPrimary) {
    // Read once here too, so a file no worker can start from fails the command at once.
    try {
      await loadGatewayFile(file);
    } catch (error) {
      return startFailed(error);
    }
    return runWorkers(workers, log);
  }
  collectProcessMetrics();

  const lifecycle = new Lifecycle();
  let component: GatewayComponent;
  let drainMs: number;
  try {
    const whole = await loadGatewayFile(file);
    drainMs = parseDuration(whole.gateway.limits?.drainTimeout ?? '10s');
    const traces = whole.telemetry?.traces;
    // Started first and stopped last, so the gateway's last spans are flushed.
    if (traces !== undefined) lifecycle.add(new TracingComponent(traces));
    component = new GatewayComponent(whole.gateway, {
      baseDir: dirname(file),
      load: async () => (await loadGatewayFile(file)).gateway,
      logger: log,
      workers,
      watchCertificates: !values['no-watch'],
    });
    lifecycle.add(component);
    await lifecycle.start();
  } catch (error) {
    return startFailed(error);
  }
  const gateway = component.gateway!;
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

  return new Promise<number>((exit) => {
    handleSignals(lifecycle, {
      // The gateway bounds its own drain (limits.drainTimeout); then the spans are flushed.
      drainTimeout: drainMs + flushMs,
      onSignal: (signal, second) => {
        if (second) return;
        log.info({ signal, inflight: gateway.inflight }, 'draining');
        unwatch();
        process.off('SIGHUP', onHup);
      },
      exit,
    });
  });
}

function startFailed(error: unknown): number {
  process.stderr.write(
    `${isConfigError(error) || error instanceof Error ? error.message : String(error)}\n`,
  );
  return 1;
}

/**
 * The cluster primary: keeps `count` workers running, relays SIGHUP, drains on SIGTERM.
 * Each worker bounds its own drain, so the primary sets no deadline of its own.
 */
function runWorkers(count: number, log: Logger): Promise<number> {
  const workers = new GatewayWorkers(count, log);
  const lifecycle = new Lifecycle().add(workers);
  const onHup = (): void => workers.signal('SIGHUP');
  process.on('SIGHUP', onHup);
  return new Promise<number>((exit) => {
    lifecycle.start().then(
      () => {
        handleSignals(lifecycle, {
          drainTimeout: 2 ** 31 - 1,
          onSignal: () => process.off('SIGHUP', onHup),
          exit,
        });
      },
      () => exit(1),
    );
  });
}
