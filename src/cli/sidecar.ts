import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parseConfig } from '../core/config/index.js';
import { isConfigError, UnsupportedError } from '../core/errors.js';
import { parseDuration } from '../core/units.js';
import { parseListen } from '../gateway/listen.js';
import type { MeshControl } from '../mesh/contract.js';
import { sidecarPolicySchema } from '../mesh/policy-schema.js';
import { Sidecar } from '../mesh/sidecar/sidecar.js';
import { collectProcessMetrics } from '../observe/registry.js';
import { UsageError } from './errors.js';

export interface MeshControlConnect {
  /** The control plane, e.g. `http://127.0.0.1:7400`. */
  url: string;
  /** The bootstrap token the supervisor (or `sluice mesh token`) gave this instance. */
  token: string;
  service: string;
  trustDomain: string;
  onError: (error: unknown) => void;
}

/** Makes the control-plane client; resolves once it holds a first identity. */
export type MeshControlFactory = (options: MeshControlConnect) => Promise<MeshControl>;

/** The control plane's own client, loaded when the command runs. */
const controlClient: MeshControlFactory = async (options) => {
  const specifier = '../mesh/control/client.js';
  let client: { MeshControlClient: { connect(o: MeshControlConnect): Promise<MeshControl> } };
  try {
    client = await import(specifier);
  } catch (error) {
    throw new UnsupportedError('this build of sluice has no mesh control client', {
      cause: error,
    });
  }
  return client.MeshControlClient.connect(options);
};

function pairs(values: string[], what: string): [string, string][] {
  return values.map((value) => {
    const at = value.indexOf('=');
    if (at <= 0 || at === value.length - 1)
      throw new UsageError(`${what}: expected NAME=VALUE, got "${value}"`);
    return [value.slice(0, at), value.slice(at + 1)];
  });
}

function port(value: string, what: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new UsageError(`${what}: "${value}" is not a port`);
  return n;
}

async function readPolicy(file: string): Promise<unknown> {
  const text = await readFile(file, 'utf8');
  return parseConfig(text, { file, schema: sidecarPolicySchema });
}

/**
 * `sluice sidecar`: one sidecar beside one instance of a service, its identity and
 * endpoints from the control plane at `--control`. Stops on SIGINT/SIGTERM after
 * draining; SIGHUP re-reads `--policy`.
 */
export async function runSidecar(
  args: string[],
  connect: MeshControlFactory = controlClient,
): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      service: { type: 'string' },
      control: { type: 'string' },
      'app-port': { type: 'string' },
      'app-host': { type: 'string', default: '127.0.0.1' },
      listen: { type: 'string', default: '0.0.0.0:15443' },
      advertise: { type: 'string' },
      admin: { type: 'string', default: '127.0.0.1:15000' },
      upstream: { type: 'string', multiple: true, default: [] },
      label: { type: 'string', multiple: true, default: [] },
      instance: { type: 'string' },
      token: { type: 'string' },
      'trust-domain': { type: 'string', default: 'sluice.local' },
      policy: { type: 'string' },
      'drain-timeout': { type: 'string', default: '10s' },
    },
  });
  const service = values.service;
  if (service === undefined) throw new UsageError('--service NAME is required');
  if (values.control === undefined) throw new UsageError('--control URL is required');
  if (values['app-port'] === undefined) throw new UsageError('--app-port N is required');
  const token = values.token ?? process.env.SLUICE_MESH_TOKEN;
  if (token === undefined) throw new UsageError('--token (or SLUICE_MESH_TOKEN) is required');
  const appPort = port(values['app-port'], '--app-port');
  const upstreams = pairs(values.upstream, '--upstream').map(([name, p]) => ({
    name,
    port: port(p, `--upstream ${name}`),
  }));
  const labels = Object.fromEntries(pairs(values.label, '--label'));
  let drainTimeoutMs: number;
  try {
    drainTimeoutMs = parseDuration(values['drain-timeout']);
  } catch {
    throw new UsageError(`--drain-timeout: "${values['drain-timeout']}" is not a duration`);
  }
  const listen = parseListen(values.listen, 15443);
  const admin = parseListen(values.admin, 15000);
  const policyFile = values.policy;
  const policy = policyFile === undefined ? {} : await readPolicy(policyFile);

  const control = await connect({
    url: values.control,
    token,
    service,
    trustDomain: values['trust-domain'],
    onError: (error) => console.error(`sluice sidecar: control plane: ${String(error)}`),
  });
  collectProcessMetrics();
  const sidecar = new Sidecar({
    service,
    control,
    appPort,
    appHost: values['app-host'],
    listen,
    admin,
    upstreams,
    labels,
    policy,
    drainTimeoutMs,
    ...(values.advertise === undefined ? {} : { advertise: values.advertise }),
    ...(values.instance === undefined ? {} : { instance: values.instance }),
    onPolicyError: (error) =>
      console.error(`sluice sidecar: policy refused, old one kept\n${error.message}`),
  });
  try {
    const addresses = await sidecar.start();
    console.log(JSON.stringify({ sidecar: service, ...addresses }));
  } catch (error) {
    await sidecar.stop();
    await control.close();
    throw error;
  }

  const reload = (): void => {
    if (policyFile === undefined) return;
    readPolicy(policyFile).then(
      (next) => sidecar.setPolicy(next),
      (error: unknown) => {
        const text = isConfigError(error) ? error.message : String(error);
        console.error(`sluice sidecar: ${policyFile} refused, old policy kept\n${text}`);
      },
    );
  };
  process.on('SIGHUP', reload);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  process.off('SIGHUP', reload);
  await sidecar.stop();
  await control.close();
  return 0;
}
