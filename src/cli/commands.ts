import { runValidate } from './validate.js';

export interface Command {
  /** Shown in help, e.g. `validate FILE...`. */
  usage: string;
  summary: string;
  /** Absent for a command that is announced but not shipped yet. */
  run?: (args: string[]) => Promise<number>;
}

/** Every `sluice` command, in the order help lists them. */
export const commands: Record<string, Command> = {
  validate: {
    usage: 'validate FILE...',
    summary: 'check sluice.yaml files; every problem names its file, line and key path',
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
    run: async (args) => (await import('../runtime/cli.js')).runUp(args),
  },
  gateway: {
    usage: 'gateway -c FILE [--workers N] [--no-watch]',
    summary: 'run the API gateway alone; reloads on SIGHUP or when the file changes',
    run: async (args) => (await import('../gateway/cli.js')).runGateway(args),
  },
  sidecar: { usage: 'sidecar ...', summary: 'run a mesh sidecar beside a service' },
  load: {
    usage: 'load [--url URL] [--rate 50/s] [--duration 30s] [--users N] [--json]',
    summary: 'drive storefront traffic (log in, browse, order, retries) and summarise it',
    run: async (args) => (await import('./load.js')).runLoad(args),
  },
  fault: {
    usage: 'fault SERVICE --latency DUR --error-rate R | --clear | --kill',
    summary: 'slow down, fail or decline in a running service, or kill one of its instances',
    run: async (args) => (await import('./fault.js')).runFault(args),
  },
};
