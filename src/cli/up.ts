import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import {
  handleSignals,
  InvalidArgumentError,
  isConfigError,
  parseDuration,
} from '../core/index.js';
import { DashboardComponent } from '../dashboard/index.js';
import type { GatewayConfig } from '../gateway/config.js';
import { loadSluiceConfig } from '../runtime/config/index.js';
import { isPortsUnavailableError } from '../runtime/errors.js';
import { GatewayComponent } from '../runtime/gateway.js';
import type { LogFormat } from '../runtime/logs.js';
import { type System, startSystem } from '../runtime/system.js';

const usage = 'usage: sluice up [FILE] [--drain-timeout 30s] [--log-format pretty|json]';

/**
 * `sluice up [FILE]`: validates the whole file, starts the system, prints where to reach
 * it, and runs until SIGINT/SIGTERM. Exit 0 after a clean drain, 1 when the file is
 * invalid, a service never became ready or the drain overran, 2 on bad usage, 128+n
 * when a second signal cut the drain short.
 */
export async function runUp(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      'drain-timeout': { type: 'string', default: '30s' },
      'log-format': { type: 'string' },
    },
  });
  const format = values['log-format'];
  if (
    positionals.length > 1 ||
    (format !== undefined && format !== 'pretty' && format !== 'json')
  ) {
    process.stderr.write(`sluice: ${usage}\n`);
    return 2;
  }
  const file = positionals[0] ?? 'sluice.yaml';
  const drainTimeout = parseDuration(values['drain-timeout']);

  let config: Awaited<ReturnType<typeof loadSluiceConfig>>;
  try {
    config = await loadSluiceConfig(file);
  } catch (error) {
    if (!isConfigError(error)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 1;
  }

  const tty = process.stdout.isTTY === true;
  // --log-format, else the file's telemetry.logs.pretty, else pretty on a terminal only.
  const pretty = config.telemetry?.logs?.pretty ?? tty;
  const chosen: LogFormat = (format as LogFormat | undefined) ?? (pretty ? 'pretty' : 'json');
  const color = chosen === 'pretty' && tty && process.env.NO_COLOR === undefined;
  let gateway: GatewayComponent | undefined;
  let running: System | undefined;
  const dashboard =
    config.dashboard === false
      ? undefined
      : new DashboardComponent({
          config: config.dashboard ?? {},
          system: () => running!,
          cwd: dirname(file),
        });
  const system = startSystem(config, {
    cwd: dirname(file),
    logs: { format: chosen, color },
    components: (view) => {
      const extra = dashboard === undefined ? [] : [dashboard];
      if (config.gateway === undefined) return extra;
      gateway = new GatewayComponent(config.gateway, {
        baseDir: dirname(file),
        urlOf: view.urlOf,
        load: () => reloadGateway(file),
      });
      return [gateway, ...extra];
    },
  });
  running = system;

  let cut = false;
  let removeHandlers = (): void => {};
  const exitCode = new Promise<number>((resolve) => {
    // The system's own stop, which also waits for the processes killed at the deadline.
    removeHandlers = handleSignals(system, {
      drainTimeout,
      onSignal: (signal, second) => {
        cut = second;
        if (second) system.logger.warn(`${signal} again: killing every instance now`);
        else system.logger.info(`${signal}: stopping, drain deadline ${drainTimeout} ms`);
      },
      exit: (code) => {
        if (!cut) return resolve(code);
        // Do not wait for the drain under way: its deadline timers would keep us alive.
        system.kill();
        process.exit(code);
      },
    });
  });

  try {
    await system.ready;
  } catch (error) {
    removeHandlers();
    // Like an invalid file, a taken port is the user's to fix before anything ran.
    if (isPortsUnavailableError(error)) process.stderr.write(`${error.message}\n`);
    else system.logger.error(`not started: ${errorMessage(error)}`);
    return 1;
  }
  const onHup = (): void => {
    const running = gateway?.gateway;
    running?.reload().then(
      () => system.logger.info({ routes: running.runtime.routes.length }, 'gateway reloaded'),
      (error: unknown) =>
        system.logger.error(
          `gateway reload failed; kept the running configuration: ${errorMessage(error)}`,
        ),
    );
    if (system.meshControlUrl === undefined) return;
    // The sidecars' policies and authorization: a file that does not validate changes none.
    loadSluiceConfig(file)
      .then((next) => system.reloadMeshPolicies(next))
      .then(
        () => system.logger.info('mesh policies reloaded'),
        (error: unknown) =>
          system.logger.error(
            `mesh policy reload failed; the sidecars keep their policies: ${errorMessage(error)}`,
          ),
      );
  };
  process.on('SIGHUP', onHup);
  announce(system, chosen, gateway, dashboard);
  try {
    return await exitCode;
  } finally {
    process.off('SIGHUP', onHup);
  }
}

/**
 * The `gateway:` section of the file as it is now, for `POST /reload` and SIGHUP: the whole
 * file is validated again, so a reload never applies a route to an unknown upstream.
 * Services, ports and the listener stay as started.
 */
async function reloadGateway(file: string): Promise<GatewayConfig> {
  const next = await loadSluiceConfig(file);
  if (next.gateway === undefined) {
    throw new InvalidArgumentError(`${file} has no gateway section any more`);
  }
  return next.gateway;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function announce(
  system: System,
  format: LogFormat,
  gateway: GatewayComponent | undefined,
  dashboard: DashboardComponent | undefined,
): void {
  const gatewayUrl = gateway?.url;
  const admin = gateway?.adminUrl;
  // The token goes to the terminal (stderr in JSON mode), never into the merged log, which
  // the telemetry store keeps and the dashboard shows to whoever reads it.
  const token = dashboard?.printedToken;
  const urls: Record<string, { url: string | undefined; instances: string[] }> = {};
  for (const name of Object.keys(system.config.services ?? {})) {
    const instances = system.instances.filter((i) => i.service === name).map((i) => i.url);
    urls[name] = { url: system.urlOf(name), instances };
  }
  if (format === 'json') {
    const { metricsUrl: metrics, controlUrl: control, telemetryUrl: telemetry } = system;
    system.logger.info(
      { gateway: gatewayUrl, admin, urls, metrics, control, telemetry, dashboard: dashboard?.url },
      'sluice is up',
    );
    if (token !== undefined) process.stderr.write(`dashboard token for actions: ${token}\n`);
    return;
  }
  // A service may itself be called "gateway": the gateway gets its own line, above them.
  const labels = [admin === undefined ? 'telemetry' : 'gateway admin', ...Object.keys(urls)];
  const width = Math.max(...labels.map((label) => label.length));
  const lines = Object.entries(urls).map(([name, { url, instances }]) => {
    const direct = instances.length > 1 ? `  (instances ${instances.join(' ')})` : '';
    return `  ${name.padEnd(width)}  ${url}${direct}`;
  });
  if (admin !== undefined) lines.unshift(`  ${'gateway admin'.padEnd(width)}  ${admin}`);
  if (gatewayUrl !== undefined) lines.unshift(`  ${'gateway'.padEnd(width)}  ${gatewayUrl}`);
  if (system.metricsUrl !== undefined)
    lines.push(`  ${'metrics'.padEnd(width)}  ${system.metricsUrl}`);
  if (system.controlUrl !== undefined)
    lines.push(`  ${'control'.padEnd(width)}  ${system.controlUrl}`);
  if (system.telemetryUrl !== undefined)
    lines.push(`  ${'telemetry'.padEnd(width)}  ${system.telemetryUrl} (OTLP/HTTP)`);
  if (dashboard?.url !== undefined) {
    const note = token === undefined ? '' : `  (token for actions: ${token})`;
    lines.push(`  ${'dashboard'.padEnd(width)}  ${dashboard.url}${note}`);
  }
  process.stdout.write(`\nsluice is up:\n${lines.join('\n')}\n\n`);
}
