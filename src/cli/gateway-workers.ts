import cluster, { type Worker } from 'node:cluster';
import type { Component } from '../core/index.js';
import { serveClusterLimits } from '../gateway/cluster-limiter.js';
import type { Logger } from '../observe/index.js';

/**
 * `sluice gateway --workers N` in the cluster primary: N worker processes sharing the port,
 * each one that dies replaced (the primary keeps the local rate limits for all of them).
 * Stopping sends each SIGTERM and waits until all have drained and exited.
 */
export class GatewayWorkers implements Component {
  readonly name = 'gateway workers';
  readonly #count: number;
  readonly #log: Logger;
  #stopping = false;

  constructor(count: number, log: Logger) {
    this.#count = count;
    this.#log = log;
  }

  start(): void {
    for (let i = 0; i < this.#count; i++) this.#fork();
  }

  /** Relays `signal` (SIGHUP: reload) to every worker. */
  signal(signal: NodeJS.Signals): void {
    for (const worker of this.#running()) worker.process.kill(signal);
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.all(
      this.#running().map(
        (worker) =>
          new Promise<void>((resolve) => {
            worker.once('exit', () => resolve());
            worker.process.kill('SIGTERM');
          }),
      ),
    );
  }

  #fork(): void {
    const worker = cluster.fork();
    serveClusterLimits(worker);
    worker.once('exit', (code, signal) => {
      if (this.#stopping) return;
      this.#log.error({ pid: worker.process.pid, code, signal }, 'worker died; starting another');
      this.#fork();
    });
  }

  #running(): Worker[] {
    return Object.values(cluster.workers ?? {}).filter((w) => w !== undefined);
  }
}
