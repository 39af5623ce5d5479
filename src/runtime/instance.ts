import { type ChildProcess, spawn } from 'node:child_process';
import { abortError, anySignal, ClosedError, sleep } from '../core/index.js';
import type { Logger } from '../observe/index.js';
import { type Backoff, exponentialBackoff } from '../resilience/index.js';
import { splitCommand } from './command.js';
import { ServiceNotReadyError } from './errors.js';
import { type Probe, probe } from './health.js';
import type { LogSink } from './logs.js';
import type { RuntimeMetrics } from './metrics.js';
import type { ServicePlan } from './plan.js';
import { strangerOn } from './port-holder.js';

export type InstanceState =
  | 'starting'
  | 'ready'
  | 'unhealthy'
  | 'backoff'
  | 'exited'
  | 'stopping'
  | 'stopped';

export interface InstanceInfo {
  service: string;
  index: number;
  port: number;
  /** Where the instance itself listens: `http://127.0.0.1:4001`. */
  url: string;
  pid: number | undefined;
  state: InstanceState;
  restarts: number;
}

export interface InstanceOptions {
  plan: ServicePlan;
  index: number;
  host: string;
  port: number;
  /** The whole environment of the process. */
  env: Record<string, string | undefined>;
  sink: LogSink;
  logger: Logger;
  metrics: RuntimeMetrics;
  /** Told when the process has exited for good: its restart policy does not bring it back. */
  onExit?: () => void;
}

interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
}

const minimumRecoveryMs = 10_000;
const fatalSpawnErrors = new Set(['ENOENT', 'EACCES', 'ENOTDIR']);

/** One process of a service: spawns it, watches its health, restarts it when it dies. */
export class Instance {
  readonly #o: InstanceOptions;
  readonly #label: string;
  readonly #backoff: Backoff;
  readonly #waiters = new Set<Waiter>();
  #state: InstanceState = 'starting';
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #watching: AbortController | undefined;
  #restartTimer: NodeJS.Timeout | undefined;
  #startedAt = 0;
  #attempt = 0;
  #restarts = 0;
  #stopping = false;
  #failure: Error | undefined;
  #lastCheck = 'not checked yet';

  constructor(options: InstanceOptions) {
    this.#o = options;
    this.#label =
      options.plan.instances > 1 ? `${options.plan.name}.${options.index}` : options.plan.name;
    this.#backoff = exponentialBackoff({
      initialDelay: options.plan.restart.initialDelayMs,
      maxDelay: options.plan.restart.maxDelayMs,
      jitter: 'none',
    });
  }

  get info(): InstanceInfo {
    const { plan, index, host, port } = this.#o;
    return {
      service: plan.name,
      index,
      port,
      url: `http://${host}:${port}`,
      pid: this.#child?.pid,
      state: this.#state,
      restarts: this.#restarts,
    };
  }

  get port(): number {
    return this.#o.port;
  }

  get ready(): boolean {
    return this.#state === 'ready';
  }

  /** Resolves once the process running now, if any, has exited (and been reaped). */
  get exited(): Promise<void> {
    return this.#exited;
  }

  /** What the last health check saw, for error messages. */
  get lastCheck(): string {
    return this.#lastCheck;
  }

  start(): void {
    this.#spawn();
  }

  /** Resolves once the instance passes its health check; rejects if it exits for good. */
  whenReady(signal: AbortSignal): Promise<void> {
    if (this.#state === 'ready') return Promise.resolve();
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.#waiters.delete(waiter);
        reject(abortError(signal));
      };
      const waiter: Waiter = {
        resolve: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (error) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      if (signal.aborted) return onAbort();
      this.#waiters.add(waiter);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * SIGTERM to the instance's process group, then SIGKILL once `drainMs` has passed or
   * `signal` aborts, whichever comes first. Resolves once the process has exited.
   */
  async stop(drainMs: number, signal: AbortSignal): Promise<void> {
    this.#halt();
    const child = this.#child;
    if (child === undefined) {
      this.#setState('stopped');
      return;
    }
    this.#setState('stopping');
    this.#o.logger.debug(`stopping ${this.#label}`);
    signalGroup(child, 'SIGTERM');
    const deadline = anySignal(signal, AbortSignal.timeout(drainMs));
    try {
      const drained = await Promise.race([this.#exited.then(() => true), aborted(deadline.signal)]);
      if (!drained) {
        this.#o.logger.warn(`${this.#label} did not stop within its drain deadline: killed`);
      }
    } finally {
      deadline.dispose();
    }
    // Also reaches what the instance started itself and left behind.
    signalGroup(child, 'SIGKILL');
    await this.#exited;
    this.#setState('stopped');
  }

  /** SIGKILL at once, synchronously: for a second signal or the supervisor's own exit. */
  kill(): void {
    this.#halt();
    if (this.#child !== undefined) signalGroup(this.#child, 'SIGKILL');
  }

  /**
   * SIGKILL to the running process, as if it had crashed: the restart policy decides what
   * follows. Returns the pid killed, or undefined when no process is running or it stops.
   */
  killProcess(): number | undefined {
    const child = this.#child;
    if (this.#stopping || child?.pid === undefined) return undefined;
    signalGroup(child, 'SIGKILL');
    return child.pid;
  }

  /** Keeps `sluice_runtime_instances_ready` in step with every move in and out of ready. */
  #setState(next: InstanceState): void {
    const service = this.#o.plan.name;
    if (this.#state !== 'ready' && next === 'ready') this.#o.metrics.ready.inc({ service });
    if (this.#state === 'ready' && next !== 'ready') this.#o.metrics.ready.dec({ service });
    this.#state = next;
  }

  #halt(): void {
    this.#stopping = true;
    clearTimeout(this.#restartTimer);
    this.#watching?.abort();
    this.#settle(new ClosedError(`${this.#label} was stopped`));
  }

  #spawn(): void {
    const { plan, index, env, sink } = this.#o;
    const [program, ...args] = splitCommand(plan.command);
    const child = spawn(program, args, {
      cwd: plan.cwd,
      env,
      // Its own process group, so that stopping reaches everything it started and a
      // Ctrl-C at the terminal reaches only the supervisor, which stops services in order.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    this.#setState('starting');
    this.#startedAt = Date.now();
    sink.attach(child.stdout!, { service: plan.name, instance: index }, 'stdout');
    sink.attach(child.stderr!, { service: plan.name, instance: index }, 'stderr');
    const watching = new AbortController();
    this.#watching = watching;
    this.#exited = new Promise((resolve) => {
      let done = false;
      const finish = (how: string, failed: boolean, fatal?: string): void => {
        if (done) return;
        done = true;
        watching.abort();
        this.#child = undefined;
        resolve();
        this.#onExit(how, failed, fatal);
      };
      child.once('exit', (code, signal) =>
        finish(
          signal === null ? `exited with code ${code}` : `was killed by ${signal}`,
          code !== 0,
        ),
      );
      child.once('error', (error: NodeJS.ErrnoException) => {
        const fatal = fatalSpawnErrors.has(error.code ?? '') ? error.message : undefined;
        finish(`failed to start: ${error.message}`, true, fatal);
      });
    });
    if (plan.health === undefined) child.once('spawn', () => this.#becomeReady());
    else void this.#watch(watching.signal);
  }

  async #watch(signal: AbortSignal): Promise<void> {
    const { host, port, plan } = this.#o;
    const health = plan.health!;
    const url = `http://${host}:${port}${health.path}`;
    let failures = 0;
    while (!signal.aborted) {
      let result = await probe(url, health.timeoutMs, signal);
      if (signal.aborted) return;
      if (result.healthy && this.#state !== 'ready') result = await this.#ownAnswer(result);
      if (signal.aborted) return;
      this.#lastCheck = `GET ${url}: ${result.detail}`;
      if (result.healthy) {
        failures = 0;
        if (this.#state !== 'ready') this.#becomeReady();
      } else if (this.#state === 'ready' && ++failures >= health.unhealthyThreshold) {
        this.#setState('unhealthy');
        this.#o.logger.warn(`${this.#label} is unhealthy (${this.#lastCheck})`);
      }
      await sleep(health.intervalMs, { signal }).catch(() => {});
    }
  }

  /**
   * A healthy answer counts only if this instance gave it: a process that held the port
   * before the instance started (it then fails to bind, and may crash-loop) would otherwise
   * pass its checks. Linux tells which process listens; elsewhere the answer is believed.
   */
  async #ownAnswer(result: Probe): Promise<Probe> {
    const pid = this.#child?.pid;
    const stranger = pid === undefined ? undefined : await strangerOn(this.#o.port, pid);
    if (stranger === undefined) return result;
    return { healthy: false, detail: `${result.detail} from ${stranger}, not from this instance` };
  }

  #becomeReady(): void {
    if (this.#stopping) return;
    const wasUnhealthy = this.#state === 'unhealthy';
    this.#setState('ready');
    this.#o.logger.info(`${this.#label} is ${wasUnhealthy ? 'healthy again' : 'ready'}`);
    this.#settle();
  }

  #onExit(how: string, failed: boolean, fatal: string | undefined): void {
    if (this.#stopping) return;
    const { plan, logger, metrics } = this.#o;
    const policy = plan.restart.policy;
    if (fatal !== undefined || policy === 'never' || (policy === 'on-failure' && !failed)) {
      this.#setState('exited');
      const why = fatal === undefined ? `restart: ${policy}` : 'it cannot be started';
      logger[failed ? 'error' : 'info'](`${this.#label} ${how}; not restarting (${why})`);
      this.#settle(new ServiceNotReadyError(plan.name, `${this.#label} ${how}`));
      this.#o.onExit?.();
      return;
    }
    // A long run was a recovery, not part of a crash loop: start the backoff afresh.
    const longRun = Math.max(plan.restart.maxDelayMs, minimumRecoveryMs);
    if (Date.now() - this.#startedAt >= longRun) this.#attempt = 0;
    this.#attempt++;
    const delay = this.#backoff(this.#attempt, 0);
    this.#setState('backoff');
    logger.warn(`${this.#label} ${how}; restarting in ${delay} ms (attempt ${this.#attempt})`);
    this.#restartTimer = setTimeout(() => {
      this.#restarts++;
      metrics.restarts.inc({ service: plan.name });
      this.#spawn();
    }, delay);
  }

  /** Resolves every waiter, or rejects them all with `error` (kept for later callers). */
  #settle(error?: Error): void {
    if (error !== undefined) this.#failure ??= error;
    for (const waiter of this.#waiters) {
      if (error === undefined) waiter.resolve();
      else waiter.reject(error);
    }
    this.#waiters.clear();
  }
}

/** Resolves false once `signal` aborts; holds no timer, so it never keeps the process alive. */
function aborted(signal: AbortSignal): Promise<false> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) =>
    signal.addEventListener('abort', () => resolve(false), { once: true }),
  );
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is gone already (ESRCH).
  }
}
