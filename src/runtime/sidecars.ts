import { fileURLToPath } from 'node:url';
import type { MeshControlComponent } from './mesh-control.js';
import type { ServicePlan } from './plan.js';
import { freePorts } from './ports.js';

/** What the supervisor runs beside one instance: the sidecar's plan and what the app is told. */
export interface SidecarLaunch {
  /** The sidecar process as an instance of its own: `/ready` on its admin port is its health. */
  plan: ServicePlan;
  /** The admin port, where `/ready` is checked. */
  adminPort: number;
  env: Record<string, string | undefined>;
  /** Per upstream, the loopback URL the app calls it at (`PAYMENT_URL`). */
  upstreamUrls: Record<string, string>;
}

export interface MeshSidecarsOptions {
  control: MeshControlComponent;
  /** Where sidecars accept mTLS from other sidecars. */
  host: string;
  /** The base environment of every sidecar process. */
  env: Record<string, string | undefined>;
  /** The `sluice` CLI the sidecars run as (`sluice sidecar`); default this package's own. */
  cli?: string;
}

// A supervisor run from the sources (tests through tsx) starts the built CLI.
const ownCli = fileURLToPath(
  new URL(
    import.meta.url.endsWith('.ts') ? '../../dist/cli/main.js' : '../cli/main.js',
    import.meta.url,
  ),
);

/**
 * Plans the sidecar of each instance of a meshed service: its ports (mTLS inbound, admin,
 * one loopback listener per upstream, fixed for its life so a restarted sidecar takes the
 * same ones the app was given), its bootstrap token and its command.
 */
export class MeshSidecars {
  readonly #o: MeshSidecarsOptions;

  constructor(options: MeshSidecarsOptions) {
    this.#o = options;
  }

  async launch(app: ServicePlan, index: number, appPort: number): Promise<SidecarLaunch> {
    const { host, control } = this.#o;
    const [inbound] = await freePorts(host, 1);
    const [admin, ...outbound] = await freePorts('127.0.0.1', 1 + app.upstreams.length);
    const instance = `${app.name}-${index}`;
    const env = await control.sidecarEnv(app.name, instance);
    const upstreamUrls: Record<string, string> = {};
    const args = [
      process.execPath,
      this.#o.cli ?? ownCli,
      'sidecar',
      ...['--service', app.name, '--instance', instance],
      ...['--control', env.SLUICE_MESH_CONTROL_URL],
      ...['--trust-domain', env.SLUICE_MESH_TRUST_DOMAIN],
      ...['--app-port', String(appPort), '--listen', `${host}:${inbound}`],
      ...['--admin', `127.0.0.1:${admin}`],
      ...['--drain-timeout', `${app.drainTimeoutMs}ms`],
    ];
    app.upstreams.forEach((upstream, i) => {
      args.push('--upstream', `${upstream}=${outbound[i]}`);
      upstreamUrls[upstream] = `http://127.0.0.1:${outbound[i]}`;
    });
    return {
      plan: {
        name: `${app.name}-sidecar`,
        command: args.map(quote).join(' '),
        cwd: undefined,
        instances: app.instances,
        basePort: undefined,
        upstreams: [],
        env: {},
        health: { path: '/ready', intervalMs: 200, timeoutMs: 2_000, unhealthyThreshold: 3 },
        startTimeoutMs: app.startTimeoutMs,
        // A sidecar runs as long as its app does: whatever ends it, it comes back.
        restart: { policy: 'always', initialDelayMs: 100, maxDelayMs: 5_000 },
        // It drains after its app has, so its own drain is short.
        drainTimeoutMs: app.drainTimeoutMs,
      },
      adminPort: admin!,
      env: { ...this.#o.env, ...env },
      upstreamUrls,
    };
  }
}

/** One word for `splitCommand`, whatever it holds. */
function quote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}
