import { runValidate } from './validate.js';

export interface Command {
  /** Shown in help, e.g. `validate FILE...`. */
  usage: string;
  summary: string;
  /** Each option with what it does, shown by `sluice help COMMAND`. */
  options?: readonly (readonly [flag: string, meaning: string])[];
  /** Absent for a command that is announced but not shipped yet. */
  run?: (args: string[]) => Promise<number>;
}

/** Every `sluice` command, in the order help lists them. */
export const commands: Record<string, Command> = {
  validate: {
    usage: 'validate [FILE...]',
    summary:
      'check sluice.yaml files, references between sections too; problems and warnings by line',
    options: [['FILE', 'a system file to check, or several (default: sluice.yaml)']],
    run: runValidate,
  },
  demo: {
    usage: 'demo',
    summary: 'watch retry and a circuit breaker handle a flaky call, live',
    run: async (args) => (await import('./demo.js')).runDemo(args),
  },
  up: {
    usage: 'up [FILE]',
    summary: 'run a whole system from sluice.yaml: services in dependency order, restarts, drain',
    options: [
      ['FILE', 'the system file (default: sluice.yaml)'],
      ['--drain-timeout DUR', 'how long in-flight work may finish on shutdown (default: 30s)'],
      ['--log-format pretty|json', 'merged log format (default: pretty on a terminal, else json)'],
      ['SIGHUP', "reloads the file's gateway section, as POST /reload on its admin API does"],
    ],
    run: async (args) => (await import('./up.js')).runUp(args),
  },
  dashboard: {
    usage: 'dashboard [FILE] [--port N] [--token TOKEN]',
    summary: 'the web dashboard alone, beside a running "sluice up" (same store, control API)',
    options: [
      ['FILE', 'the system file "sluice up" runs (default: sluice.yaml)'],
      ['--port N', 'where to listen on 127.0.0.1 (default: dashboard.port, else 9467)'],
      ['--token TOKEN', 'bearer token for actions (or SLUICE_DASHBOARD_TOKEN; default: random)'],
    ],
    run: async (args) => (await import('./dashboard.js')).runDashboard(args),
  },
  gateway: {
    usage: 'gateway -c FILE [--workers N] [--no-watch]',
    summary: 'run the API gateway alone; reloads on SIGHUP or when the file changes',
    options: [
      ['-c, --config FILE', 'the gateway file (default: sluice.yaml)'],
      ['-w, --workers N', 'worker processes sharing the port (default: 1)'],
      ['--no-watch', 'reload on SIGHUP only, not when the file or its certificates change'],
    ],
    run: async (args) => (await import('./gateway.js')).runGatewayCommand(args),
  },
  sidecar: {
    usage: 'sidecar --service NAME --control URL --app-port N [--upstream NAME=PORT]...',
    summary: 'run a mesh sidecar beside one instance of a service (mTLS, balancing, policies)',
    options: [
      ['--service NAME', 'the service this instance belongs to'],
      ['--control URL', 'the mesh control plane, e.g. http://127.0.0.1:7400'],
      ['--token TOKEN', 'bootstrap token for the first certificate (or SLUICE_MESH_TOKEN)'],
      ['--trust-domain TD', 'the SPIFFE trust domain (default: sluice.local)'],
      ['--app-port N', "the app's port on loopback, where inbound calls are forwarded"],
      ['--app-host HOST', "the app's address (default: 127.0.0.1)"],
      ['--listen HOST:PORT', 'public mTLS address (default: 0.0.0.0:15443)'],
      ['--advertise HOST:PORT', 'the address registered for other sidecars (default: --listen)'],
      ['--upstream NAME=PORT', 'a loopback port the app calls upstream NAME at; repeatable'],
      ['--admin HOST:PORT', '/ready, /healthz and /metrics (default: 127.0.0.1:15000)'],
      ['--instance NAME', 'the registered instance name (default: SERVICE-PORT)'],
      ['--label KEY=VALUE', 'a label for the registry, e.g. version=v2; repeatable'],
      [
        '--policy FILE',
        'YAML { policies, authorization } used until the control plane sends one; SIGHUP re-reads it',
      ],
      ['--drain-timeout DUR', 'how long in-flight requests may finish on stop (default: 10s)'],
    ],
    run: async (args) => (await import('./sidecar.js')).runSidecar(args),
  },
  mesh: {
    usage: 'mesh control|check|token|rotate [options]',
    summary: "the mesh's control plane (registry, CA), its certificate check, tokens and rotation",
    options: [
      [
        'control',
        'run a control plane: --listen HOST:PORT --store URL --trust-domain TD --ca-dir DIR',
      ],
      [
        'check',
        'exit 1 when the CA is invalid or the anchor or issuer expires within --warn (30d)',
      ],
      ['token', 'print a bootstrap token: --service NAME [--instance I] [--ttl 15m]'],
      ['rotate', 'add a new root beside the old and re-sign the issuer; --finish drops the old'],
      ['--listen HOST:PORT', 'where the API listens (default: 127.0.0.1:7400)'],
      [
        '--store URL',
        'the registry: a SQLite file, redis://… or postgres://… (default: ./data/mesh.db)',
      ],
      ['--store-prefix NAME', "keeps this mesh's keys or tables apart on a shared engine (sluice)"],
      ['--trust-domain TD', 'the SPIFFE trust domain (default: sluice.local)'],
      ['--ca-dir DIR', 'CA files, generated there on first start (default: ./data/mesh-ca)'],
      [
        '--trust-bundle FILE',
        'your roots (PEM), with --issuer-cert and --issuer-key, instead of --ca-dir',
      ],
      ['--issuer-cert FILE', 'your issuer (intermediate) certificate'],
      ['--issuer-key FILE', "your issuer's PKCS#8 key"],
      ['--leaf-ttl DUR', 'lifetime of the X.509-SVIDs it signs (default: 24h)'],
      [
        '--registration-ttl DUR',
        'how long a registration lives without a heartbeat (default: 15s)',
      ],
      ['-c, --config FILE', "sluice.yaml whose services' policies it serves (reloaded on SIGHUP)"],
      ['--warn DUR', 'check: how far ahead an expiry fails the check (default: 30d)'],
      ['--json', 'check: print the report as JSON'],
    ],
    run: async (args) => (await import('./mesh.js')).runMesh(args),
  },
  load: {
    usage: 'load [--url URL] [--rate 50/s] [--duration 30s] [--users N] [--json]',
    summary: 'drive storefront traffic (log in, browse, order, retries) and summarise it',
    options: [
      ['--url URL', "the storefront's gateway (default: http://127.0.0.1:8080)"],
      ['--rate N/s', 'arrivals per second, sent on schedule (default: 50/s)'],
      ['--duration DUR', 'how long to send (default: 30s)'],
      ['--users N', 'seeded users to log in as, 1 to 4 (default: 2)'],
      ['--duplicate-ratio R', 'share of orders resent with an earlier Idempotency-Key (0.1)'],
      ['--settle DUR', 'how long to wait for placed orders to finish afterwards (10s)'],
      ['--timeout DUR', 'per request (default: 10s)'],
      ['--connections N', 'connection pool size (default: 64)'],
      ['--json', 'print the summary as JSON'],
    ],
    run: async (args) => (await import('./load.js')).runLoad(args),
  },
  fault: {
    usage: 'fault SERVICE --latency DUR --error-rate R | --clear | --kill',
    summary: 'slow down, fail or decline in a running service, or kill one of its instances',
    options: [
      ['SERVICE', 'a service of the running system, e.g. payment'],
      ['--latency DUR', 'delay every answer by DUR (POST /fault on each instance)'],
      ['--error-rate R', 'answer 503 to a share R of requests, 0 to 1'],
      ['--decline-rate R', 'decline a share R of charges (services that have declines)'],
      ['--clear', 'remove every fault'],
      ['--kill', 'SIGKILL one instance; the supervisor restarts it'],
      ['--instance I', 'only instance I (default: every instance; instance 0 for --kill)'],
      ['-f, --file FILE', 'find the system through this file (default: sluice.yaml)'],
      ['--control URL', "the supervisor's control API, instead of a file"],
    ],
    run: async (args) => (await import('./fault.js')).runFault(args),
  },
};
