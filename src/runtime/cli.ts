import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { type Component, handleSignals, isConfigError, parseDuration } from '../core/index.js';
import { loadSluiceConfig, type SluiceConfig } from './config/index.js';
import { GatewayComponent } from './gateway.js';
import type { LogFormat } from './logs.js';
import { type System, startSystem } from './system.js';

const usage = 'usage: sluice up [FILE] [--drain-timeout 30s] [--log-format pretty|json]';

/**
 * A component `sluice up` runs from a folder that builds on the runtime (the dashboard),
 * started after the gateway, with the line it adds to the "sluice is up" list.
 */
export interface UpAddon extends Component {
  /**
   * `secret` is printed beside `text` on the terminal and to stderr in JSON mode, never
   * into the merged log (which the telemetry store keeps and the dashboard shows).
   */
  announce(): { label: string; text: string; secret?: string | undefined } | undefined;
}

export interface RunUpOptions {
  /** `system` is known once the services start; `cwd` is the file's folder. */
  addons?: (config: SluiceConfig, system: () => System, cwd: string) => UpAddon[];
}

/**
 * `sluice up [FILE]`: validates the whole file, starts the system, prints where to reach
 * it, and runs until SIGINT/SIGTERM. Exit 0 after a clean drain, 1 when the file is
 * invalid, a service never became ready or the drain overran, 2 on bad usage, 128+n
 * when a second signal cut the drain short.
 */
export async function runUp(args: string[], options: RunUpOptions = {}): Promise<number> {
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
  const chosen: LogFormat = (format as LogFormat | undefined) ?? (tty ? 'pretty' : 'json');
  const color = chosen === 'pretty' && tty && process.env.NO_COLOR === undefined;
  const gateway =
    config.gateway === undefined
      ? undefined
      : new GatewayComponent(config.gateway, { baseDir: dirname(file) });
  let running: System | undefined;
  const addons = options.addons?.(config, () => running!, dirname(file)) ?? [];
  const system = startSystem(config, {
    cwd: dirname(file),
    logs: { format: chosen, color },
    components: () => [...(gateway === undefined ? [] : [gateway]), ...addons],
  });
  running = system;

  let cut = false;
  let removeHandlers = (): void => {};
  const exitCode = new Promise<number>((resolve) => {
    removeHandlers = handleSignals(system.lifecycle, {
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
    system.logger.error(`not started: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  announce(system, chosen, gateway?.url, addons);
  return exitCode;
}

function announce(
  system: System,
  format: LogFormat,
  gatewayUrl: string | undefined,
  addons: UpAddon[],
): void {
  const extra = addons.flatMap((addon) => addon.announce() ?? []);
  const urls: Record<string, { url: string | undefined; instances: string[] }> = {};
  for (const name of Object.keys(system.config.services ?? {})) {
    const instances = system.instances.filter((i) => i.service === name).map((i) => i.url);
    urls[name] = { url: system.urlOf(name), instances };
  }
  if (format === 'json') {
    const { metricsUrl: metrics, controlUrl: control, telemetryUrl: telemetry } = system;
    const added = Object.fromEntries(extra.map((e) => [e.label, e.text]));
    for (const { label, secret } of extra) {
      if (secret !== undefined) process.stderr.write(`${label} ${secret}\n`);
    }
    system.logger.info(
      { gateway: gatewayUrl, urls, metrics, control, telemetry, ...added },
      'sluice is up',
    );
    return;
  }
  // A service may itself be called "gateway": the gateway gets its own line, above them.
  const width = Math.max(
    'telemetry'.length,
    ...Object.keys(urls).map((s) => s.length),
    ...extra.map((e) => e.label.length),
  );
  const lines = Object.entries(urls).map(([name, { url, instances }]) => {
    const direct = instances.length > 1 ? `  (instances ${instances.join(' ')})` : '';
    return `  ${name.padEnd(width)}  ${url}${direct}`;
  });
  if (gatewayUrl !== undefined) lines.unshift(`  ${'gateway'.padEnd(width)}  ${gatewayUrl}`);
  if (system.metricsUrl !== undefined)
    lines.push(`  ${'metrics'.padEnd(width)}  ${system.metricsUrl}`);
  if (system.controlUrl !== undefined)
    lines.push(`  ${'control'.padEnd(width)}  ${system.controlUrl}`);
  if (system.telemetryUrl !== undefined)
    lines.push(`  ${'telemetry'.padEnd(width)}  ${system.telemetryUrl} (OTLP/HTTP)`);
  for (const { label, text, secret } of extra) {
    lines.push(`  ${label.padEnd(width)}  ${text}${secret === undefined ? '' : `  (${secret})`}`);
  }
  process.stdout.write(`\nsluice is up:\n${lines.join('\n')}\n\n`);
}
