import { anySignal, type Component, type StopOptions } from '../core/index.js';
import type { Logger } from '../observe/index.js';
import { ServiceNotReadyError } from './errors.js';
import { Instance, type InstanceInfo } from './instance.js';
import type { LogSink } from './logs.js';
import type { RuntimeMetrics } from './metrics.js';
import type { RestartPolicy, ServicePlan } from './plan.js';
import { freePorts } from './ports.js';
import { RoundRobinProxy } from './proxy.js';
import type { MeshSidecars } from './sidecars.js';

const neverAborted = new AbortController().signal;

export interface ServiceOptions {
  plan: ServicePlan;
  host: string;
  /**
   * The whole environment of instance `index`, listening on `port`; `upstreamUrls`, when
   * it has a sidecar, are where the sidecar serves its upstreams.
   */
  env: (
    index: number,
    port: number,
    upstreamUrls?: Record<string, string>,
  ) => Record<string, string | undefined>;
  /** With the mesh: a sidecar beside every instance, ready before it, stopped after it. */
  sidecars?: MeshSidecars | undefined;
  sink: LogSink;
  logger: Logger;
  metrics: RuntimeMetrics;
}

/**
 * Every instance of one service, as one lifecycle component: started when all its
 * instances are ready, stopped when all have exited.
 */
export class Service implements Component {
  readonly name: string;
  readonly #o: ServiceOptions;
  #instances: Instance[] = [];
  /** `#sidecars[i]` runs beside `#instances[i]`; empty without the mesh. */
  #sidecars: Instance[] = [];
  #proxy: RoundRobinProxy | undefined;
  #url: string | undefined;

  constructor(options: ServiceOptions) {
    this.#o = options;
    this.name = options.plan.name;
  }

  get instances(): InstanceInfo[] {
    return this.#instances.map((i) => i.info);
  }

  /** The sidecar beside each instance, in the same order; none without the mesh. */
  get sidecars(): InstanceInfo[] {
    return this.#sidecars.map((i) => i.info);
  }

  /** Where callers reach the service; known once it has started. */
  get url(): string | undefined {
    return this.#url;
  }

  async start(signal?: AbortSignal): Promise<void> {
    const { plan, host, logger, sink, metrics, sidecars } = this.#o;
    const ports = await this.#ports();
    const launches =
      sidecars === undefined
        ? []
        : await Promise.all(ports.map((port, index) => sidecars.launch(plan, index, port)));
    this.#sidecars = launches.map(
      (launch, index) =>
        new Instance({
          plan: launch.plan,
          index,
          host: '127.0.0.1',
          port: launch.adminPort,
          env: launch.env,
          sink,
          logger: logger.child({ service: launch.plan.name, instance: index }),
          metrics,
        }),
    );
    this.#instances = ports.map(
      (port, index) =>
        new Instance({
          plan,
          index,
          host,
          port,
          env: this.#o.env(index, port, launches[index]?.upstreamUrls),
          sink,
          logger: logger.child({ service: plan.name, instance: index }),
          metrics,
          // A job that is done ends its sidecar too.
          onExit: () => void this.#sidecars[index]?.stop(plan.drainTimeoutMs, neverAborted),
        }),
    );
    if (this.#instances.length > 1) {
      this.#proxy = new RoundRobinProxy(host, this.#instances);
      this.#url = `http://${host}:${await this.#proxy.listen()}`;
    } else {
      this.#url = this.#instances[0]!.info.url;
    }

    const timeout = AbortSignal.timeout(plan.startTimeoutMs);
    const waiting = anySignal(signal, timeout);
    try {
      // An app starts only once its sidecar is ready: its upstreams answer from its first call.
      for (const sidecar of this.#sidecars) sidecar.start();
      await Promise.all(this.#sidecars.map((s) => s.whenReady(waiting.signal)));
      for (const instance of this.#instances) instance.start();
      await Promise.all(this.#instances.map((i) => i.whenReady(waiting.signal)));
    } catch (error) {
      // Found before the stop, after which nothing is ready.
      const late =
        [...this.#sidecars, ...this.#instances].find((i) => !i.ready) ?? this.#instances[0]!;
      await this.stop({
        drainTimeout: plan.drainTimeoutMs,
        signal: signal ?? new AbortController().signal,
      });
      if (!timeout.aborted) throw error;
      throw new ServiceNotReadyError(
        plan.name,
        `${plan.name} did not become ready within ${plan.startTimeoutMs} ms (last check ${late.lastCheck})`,
        { cause: error },
      );
    } finally {
      waiting.dispose();
    }
  }

  async stop(options: StopOptions): Promise<void> {
    const drainMs = Math.min(this.#o.plan.drainTimeoutMs, options.drainTimeout);
    // Each app drains first, then its sidecar: the app's last calls still go out through it.
    await Promise.all(
      this.#instances.map(async (instance, index) => {
        await instance.stop(drainMs, options.signal);
        await this.#sidecars[index]?.stop(drainMs, options.signal);
      }),
    );
    await this.#proxy?.close();
  }

  /** Resolves once every process of the service that runs now has exited. */
  async exited(): Promise<void> {
    await Promise.all([...this.#instances, ...this.#sidecars].map((i) => i.exited));
  }

  get restartPolicy(): RestartPolicy {
    return this.#o.plan.restart.policy;
  }

  /** SIGKILL to instance `index`'s process, leaving its restart to the policy; its pid. */
  killInstance(index: number): number | undefined {
    return this.#instances[index]?.killProcess();
  }

  /** SIGKILL to every instance, synchronously. */
  kill(): void {
    for (const instance of [...this.#instances, ...this.#sidecars]) instance.kill();
  }

  async #ports(): Promise<number[]> {
    const { plan, host } = this.#o;
    if (plan.basePort === undefined) return freePorts(host, plan.instances);
    return Array.from({ length: plan.instances }, (_, i) => plan.basePort! + i);
  }
}
