import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { InvalidArgumentError } from '../core/index.js';
import {
  connectOptionsOf,
  DashboardServer,
  DEFAULT_DASHBOARD_PORT,
  lazyBroker,
  remoteSources,
} from '../dashboard/index.js';
import { loadSluiceConfig } from '../runtime/config/index.js';
import { UsageError } from './errors.js';

/**
 * `sluice dashboard [FILE]`: the dashboard on its own, beside a running `sluice up`: the same
 * telemetry store file, the control API and the messaging engine the file declares. Runs
 * until SIGINT or SIGTERM.
 */
export async function runDashboard(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: { port: { type: 'string' }, token: { type: 'string' } },
  });
  if (positionals.length > 1) throw new UsageError('dashboard takes one file at most');
  const file = positionals[0] ?? 'sluice.yaml';
  const config = await loadSluiceConfig(file);
  const cwd = dirname(file);
  const declared = config.dashboard === false ? {} : (config.dashboard ?? {});
  let port = declared.port ?? DEFAULT_DASHBOARD_PORT;
  if (values.port !== undefined) {
    if (!/^\d{1,5}$/.test(values.port) || Number(values.port) > 65535) {
      throw new UsageError(`--port: expected a port number, got "${values.port}"`);
    }
    port = Number(values.port);
  }
  const store = config.telemetry?.store;
  const storePath =
    store === undefined || store.enabled === false
      ? undefined
      : resolve(cwd, store.path ?? 'data/telemetry.db');
  const controlPort = config.control?.port;
  if (controlPort === 0) {
    throw new InvalidArgumentError(
      `${file} puts the control API on any free port: give it a fixed control.port to use sluice dashboard`,
    );
  }
  const broker = lazyBroker(connectOptionsOf(config, cwd));
  const sources = remoteSources({
    config,
    storePath,
    controlUrl: controlPort === undefined ? undefined : `http://127.0.0.1:${controlPort}`,
    broker: broker.get,
  });
  const token = values.token ?? process.env.SLUICE_DASHBOARD_TOKEN ?? declared.token;
  const server = new DashboardServer({ sources, port, token });
  await server.start();
  const tokenLine = token === undefined ? `  (token for actions: ${server.token})` : '';
  process.stdout.write(`dashboard ${server.url}${tokenLine}\n`);
  await new Promise<void>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  await server.stop();
  await broker.close();
  sources.close();
  return 0;
}
