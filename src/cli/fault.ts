import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { InvalidArgumentError, parseDuration, parsePercent } from '../core/index.js';
import { loadSluiceConfig } from '../runtime/config/index.js';
import { fetchSystemStatus, killInstance } from '../runtime/control-client.js';
import type { ServiceStatus } from '../runtime/control-server.js';
import { isSystemUnreachableError, SystemUnreachableError } from '../runtime/errors.js';
import { type Fault, postFault } from '../runtime/fault-client.js';
import { UsageError } from './errors.js';
import { consoleOutput, type Output } from './validate.js';

const usage =
  'sluice fault SERVICE (--latency DUR --error-rate R --decline-rate R | --clear | --kill) ' +
  '[--instance N] [-f FILE | --control URL]';

export type { Fault };

export interface FaultCommand {
  service: string;
  action: { kind: 'fault'; fault: Fault } | { kind: 'kill' };
  /** Absent: a fault goes to every instance, a kill to instance 0. */
  instance: number | undefined;
  /** The control API's URL, when given instead of a file. */
  control: string | undefined;
  file: string;
}

/** Reads `sluice fault`'s arguments; every mistake is a UsageError naming the option. */
export function parseFaultArgs(args: string[]): FaultCommand {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      latency: { type: 'string' },
      'error-rate': { type: 'string' },
      'decline-rate': { type: 'string' },
      clear: { type: 'boolean' },
      kill: { type: 'boolean' },
      instance: { type: 'string' },
      file: { type: 'string', short: 'f' },
      control: { type: 'string' },
    },
  });
  if (positionals.length !== 1) {
    throw new UsageError(`fault needs one service (got ${positionals.length})\nusage: ${usage}`);
  }
  const changes = [values.latency, values['error-rate'], values['decline-rate']].some(
    (value) => value !== undefined,
  );
  const chosen = [changes, values.clear === true, values.kill === true].filter(Boolean).length;
  if (chosen !== 1) {
    const problem = chosen === 0 ? 'needs something to do' : 'takes one thing to do at a time';
    throw new UsageError(
      `fault ${problem}: --latency/--error-rate/--decline-rate, --clear or --kill\nusage: ${usage}`,
    );
  }
  if (values.file !== undefined && values.control !== undefined) {
    throw new UsageError('fault finds the system by -f FILE or by --control URL, not both');
  }
  const fault: Fault = values.clear === true ? { latencyMs: 0, errorRate: 0, declineRate: 0 } : {};
  if (values.latency !== undefined) fault.latencyMs = parseLatency(values.latency);
  if (values['error-rate'] !== undefined) {
    fault.errorRate = parseRate('--error-rate', values['error-rate']);
  }
  if (values['decline-rate'] !== undefined) {
    fault.declineRate = parseRate('--decline-rate', values['decline-rate']);
  }
  return {
    service: positionals[0]!,
    action: values.kill === true ? { kind: 'kill' } : { kind: 'fault', fault },
    instance: values.instance === undefined ? undefined : parseIndex(values.instance),
    control: values.control === undefined ? undefined : parseControlUrl(values.control),
    file: values.file ?? 'sluice.yaml',
  };
}

/**
 * `sluice fault SERVICE …`: finds the running system through its control API, then sets a
 * fault at the service's `POST /fault` or kills one of its instances. Usage errors throw
 * (exit 2); an unreachable system, unknown service or refused fault throws too (exit 1).
 */
export async function runFault(args: string[], output: Output = consoleOutput): Promise<number> {
  const command = parseFaultArgs(args);
  const control = command.control ?? (await controlUrlFrom(command.file));
  const status = await fetchSystemStatus(control).catch((error: unknown) => {
    if (!isSystemUnreachableError(error)) throw error;
    const start =
      command.control === undefined
        ? `start it with "sluice up ${command.file}"`
        : 'is "sluice up" running, and is this its control URL?';
    throw new SystemUnreachableError(control, `no system answers at ${control}: ${start}`, {
      cause: error,
    });
  });
  const { service: name, action, instance } = command;
  const service = Object.hasOwn(status.services, name) ? status.services[name] : undefined;
  if (service === undefined) {
    const known = Object.keys(status.services).join(', ') || 'none';
    throw new InvalidArgumentError(`unknown service "${name}" (the system runs: ${known})`);
  }

  if (action.kind === 'kill') {
    const killed = await killInstance(control, name, instance ?? 0);
    const next =
      killed.restart === 'never' ? 'it stays down' : 'the supervisor restarts it with backoff';
    output.out(
      `killed ${labelOf(service, killed.index, name)} (pid ${killed.pid}); ${next} (restart: ${killed.restart})`,
    );
    return 0;
  }
  for (const target of targetsOf(service, name, instance)) {
    const label = labelOf(service, target.index, name);
    const now = await postFault(label, target, action.fault);
    output.out(`${label} fault is now ${describe(now)}`);
  }
  return 0;
}

/** The control API's URL from the file `sluice up` runs: 127.0.0.1 and its `control.port`. */
async function controlUrlFrom(file: string): Promise<string> {
  if (!existsSync(file)) {
    throw new InvalidArgumentError(
      `${file} not found: sluice fault reads the control port of the running system from the ` +
        'file it runs; pass -f FILE or --control URL',
    );
  }
  const config = await loadSluiceConfig(file);
  const port = config.control?.port;
  if (port === undefined) {
    throw new InvalidArgumentError(
      `${file} declares no control API: add "control: { port: 9465 }" and restart the system, ` +
        'or pass --control URL',
    );
  }
  if (port === 0) {
    throw new InvalidArgumentError(
      `${file} puts the control API on any free port (control.port: 0): ` +
        'pass the control URL "sluice up" printed with --control URL',
    );
  }
  return `http://127.0.0.1:${port}`;
}

function targetsOf(service: ServiceStatus, name: string, index: number | undefined) {
  if (index === undefined) return service.instances;
  const instance = service.instances[index];
  if (instance === undefined) {
    const indexes = service.instances.map((i) => i.index).join(', ');
    throw new InvalidArgumentError(`${name} has no instance ${index} (its instances: ${indexes})`);
  }
  return [instance];
}

/** `payment` for a service of one instance, `orders.1` for one of several, as `up` logs them. */
function labelOf(service: ServiceStatus, index: number, name: string): string {
  return service.instances.length > 1 ? `${name}.${index}` : name;
}

/** `latencyMs 2000, errorRate 0.5` from what the service answered. */
function describe(fault: unknown): string {
  if (typeof fault !== 'object' || fault === null) return JSON.stringify(fault);
  return Object.entries(fault)
    .map(([key, value]) => `${key} ${JSON.stringify(value)}`)
    .join(', ');
}

function parseLatency(text: string): number {
  try {
    return parseDuration(text);
  } catch (error) {
    throw new UsageError(`--latency: ${(error as Error).message}`, { cause: error });
  }
}

/** `0.5` or `50%`. */
function parseRate(option: string, text: string): number {
  const trimmed = text.trim();
  try {
    if (trimmed.endsWith('%')) return parsePercent(trimmed);
    if (/^\d+(\.\d+)?$/.test(trimmed)) return parsePercent(Number(trimmed));
  } catch {}
  throw new UsageError(
    `${option}: expected a fraction from 0 to 1 or a percentage such as 50%, got "${text}"`,
  );
}

function parseIndex(text: string): number {
  if (!/^\d+$/.test(text)) {
    throw new UsageError(`--instance: expected an instance number such as 0, got "${text}"`);
  }
  return Number(text);
}

function parseControlUrl(text: string): string {
  try {
    const url = new URL(text);
    if (url.protocol === 'http:') return url.href;
  } catch {}
  throw new UsageError(`--control: expected a URL such as http://127.0.0.1:9465, got "${text}"`);
}
