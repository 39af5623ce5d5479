import { anySignal, type Component, type StopOptions } from '../core/index.js';
import type { Logger } from '../observe/index.js';
import { ServiceNotReadyError } from './errors.js';
import { Instance, type InstanceInfo } from './instance.js';
import type { LogSink } from './logs.js';
import type { RuntimeMetrics } from './metrics.js';
import type { RestartPolicy, ServicePlan } from './plan.js';
import { freePorts } from './ports.js';
import { RoundRobinProxy } from './proxy.js';

export interface ServiceOptions {
  plan: ServicePlan;
  host: string;
  /** The whole environment of instance `index`, listening on `port`. */
  env: (index: number, port: number) => Record<string, string | undefined>;
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
  #proxy: RoundRobinProxy | undefined;
  #url: string | undefined;

  constructor(options: ServiceOptions) {
    this.#o = options;
    this.name = options.plan.name;
  }

  get instances(): InstanceInfo[] {
    return this.#instances.map((i) => i.info);
  }

  /** Where callers reach the service; known once it has started. */
  get url(): string | undefined {
    return this.#url;
  }

  async start(signal?: AbortSignal): Promise<void> {
    const { plan, host, logger } = this.#o;
    const ports = await this.#ports();
    this.#instances = ports.map(
      (port, index) =>
        new Instance({
          plan,
          index,
          host,
          port,
          env: this.#o.env(index, port),
          sink: this.#o.sink,
          logger: logger.child({ service: plan.name, instance: index }),
          metrics: this.#o.metrics,
        }),
    );
    if (this.#instances.length > 1) {
      this.#proxy = new RoundRobinProxy(host, this.#instances);
      this.#url = `http://${host}:${await this.#proxy.listen()}`;
    } else {
      this.#url = this.#instances[0]!.info.url;
    }
    for (const instance of this.#instances) instance.start();

    const timeout = AbortSignal.timeout(plan.startTimeoutMs);
    const waiting = anySignal(signal, timeout);
    try {
      await Promise.all(this.#instances.map((i) => i.whenReady(waiting.signal)));
    } catch (error) {
      await this.stop({
        drainTimeout: plan.drainTimeoutMs,
        signal: signal ?? new AbortController().signal,
      });
      if (!timeout.aborted) throw error;
      const late = this.#instances.find((i) => !i.ready) ?? this.#instances[0]!;
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
    await Promise.all(this.#instances.map((i) => i.stop(drainMs, options.signal)));
    await this.#proxy?.close();
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
    for (const instance of this.#instances) instance.kill();
  }

  async #ports(): Promise<number[]> {
    const { plan, host } = this.#o;
    if (plan.basePort === undefined) return freePorts(host, plan.instances);
    return Array.from({ length: plan.instances }, (_, i) => plan.basePort! + i);
  }
}
