import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Every namespace these tests create starts with this; the pid of the test run follows. */
const PREFIX = 'sluice-mh-';
/** The namespaces this process made (its pid may be that of a run that died long ago). */
const ours = new Set<string>();
let networks = 0;

async function ip(...args: string[]): Promise<string> {
  return (await run('ip', args)).stdout;
}

/**
 * Throws a message that says what is missing when this process cannot build network
 * namespaces (not root, or no `ip netns`): such a test fails, it never skips.
 */
export async function requireNetns(): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new Error(
      'this test builds Linux network namespaces and must run as root (uid 0); run it with sudo',
    );
  }
  try {
    await ip('netns', 'list');
  } catch (error) {
    throw new Error(`this test needs iproute2's "ip netns" (apt-get install iproute2): ${error}`);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Kills what runs in a namespace and deletes it (its interfaces go with it). */
async function removeNamespace(ns: string): Promise<void> {
  const pids = (await ip('netns', 'pids', ns).catch(() => '')).split(/\s+/).filter(Boolean);
  for (const pid of pids) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {}
  }
  await ip('netns', 'del', ns).catch(() => {});
  ours.delete(ns);
}

async function addNamespace(ns: string): Promise<void> {
  await ip('netns', 'add', ns);
  ours.add(ns);
  await ip('-n', ns, 'link', 'set', 'lo', 'up');
}

/** Namespaces left by a run of these tests whose process is gone (a crash, a kill -9). */
export async function removeStaleNamespaces(): Promise<void> {
  const names = (await ip('netns', 'list'))
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.startsWith(PREFIX));
  for (const name of names) {
    const pid = Number(/^sluice-mh-(\d+)-/.exec(name)?.[1]);
    const stale = !alive(pid) || (pid === process.pid && !ours.has(name));
    if (Number.isInteger(pid) && stale) await removeNamespace(name);
  }
}

export interface Host {
  name: string;
  /** The network namespace the host is. */
  ns: string;
  address: string;
  /** Its port on the switch: the veth end in the switch's namespace. */
  port: string;
}

/**
 * Hosts as network namespaces on one switch: each has a veth pair whose other end is a
 * port of a bridge in a namespace of its own (`switch`, which has an address too, for
 * services every host reaches). Nothing is added to the root namespace. `cut` takes a
 * host's switch port down, as pulling its cable would.
 */
export class VirtualNetwork {
  readonly switch: Host;
  readonly hosts: Record<string, Host> = {};
  readonly #children = new Set<ChildProcess>();

  private constructor(
    readonly id: string,
    private readonly subnet: string,
  ) {
    this.switch = {
      name: 'switch',
      ns: `${PREFIX}${id}-sw`,
      address: `${subnet}.1`,
      port: 'br0',
    };
  }

  /** `subnet` is the first three octets, e.g. `10.77.1`; hosts get .11, .12, ... */
  static async create(names: readonly string[], subnet: string): Promise<VirtualNetwork> {
    const net = new VirtualNetwork(`${process.pid}-${++networks}`, subnet);
    try {
      await net.#build(names);
    } catch (error) {
      await net.destroy();
      throw error;
    }
    return net;
  }

  async #build(names: readonly string[]): Promise<void> {
    const sw = this.switch.ns;
    await addNamespace(sw);
    await ip('-n', sw, 'link', 'add', 'br0', 'type', 'bridge');
    await ip('-n', sw, 'addr', 'add', `${this.switch.address}/24`, 'dev', 'br0');
    await ip('-n', sw, 'link', 'set', 'br0', 'up');
    for (const [index, name] of names.entries()) {
      const host: Host = {
        name,
        ns: `${PREFIX}${this.id}-${name}`,
        address: `${this.subnet}.${11 + index}`,
        port: `p-${name}`,
      };
      await addNamespace(host.ns);
      await ip(
        'link',
        'add',
        'eth0',
        'netns',
        host.ns,
        'type',
        'veth',
        'peer',
        'name',
        host.port,
        'netns',
        sw,
      );
      await ip('-n', sw, 'link', 'set', host.port, 'master', 'br0');
      await ip('-n', sw, 'link', 'set', host.port, 'up');
      await ip('-n', host.ns, 'addr', 'add', `${host.address}/24`, 'dev', 'eth0');
      await ip('-n', host.ns, 'link', 'set', 'eth0', 'up');
      this.hosts[name] = host;
    }
  }

  host(name: string): Host {
    const host = name === 'switch' ? this.switch : this.hosts[name];
    if (host === undefined) throw new Error(`no host "${name}"`);
    return host;
  }

  /** Starts `command` inside the host's namespace; it is killed by `destroy` if still running. */
  spawn(host: string, command: string, args: readonly string[], env?: NodeJS.ProcessEnv) {
    const child = spawn('ip', ['netns', 'exec', this.host(host).ns, command, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    this.#children.add(child);
    child.once('exit', () => this.#children.delete(child));
    return child;
  }

  /** Runs a command inside the host's namespace to its end; its stdout. */
  async exec(host: string, command: string, args: readonly string[]): Promise<string> {
    return (await run('ip', ['netns', 'exec', this.host(host).ns, command, ...args])).stdout;
  }

  /** Takes the host's switch port down: nothing reaches it and nothing leaves it. */
  async cut(host: string): Promise<void> {
    await ip('-n', this.switch.ns, 'link', 'set', this.host(host).port, 'down');
  }

  async restore(host: string): Promise<void> {
    await ip('-n', this.switch.ns, 'link', 'set', this.host(host).port, 'up');
  }

  /** Stops every process it started (TERM, then KILL), then deletes every namespace. */
  async destroy(): Promise<void> {
    const children = [...this.#children];
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }),
    );
    for (const host of Object.values(this.hosts)) await removeNamespace(host.ns);
    await removeNamespace(this.switch.ns);
  }
}
