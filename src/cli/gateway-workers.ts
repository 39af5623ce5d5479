import cluster, { type Worker } from 'node:cluster';
import type { Component } from '../core/index.js';
import { serveClusterLimits } from '../gateway/cluster-limiter.js';
import type { Logger } from '../observe/index.js';
import { type Backoff, exponentialBackoff } from '../resilience/index.js';

/** A worker that served this long before dying was not part of a crash loop. */
const recoveredAfterMs = 30_000;

export interface GatewayWorkersOptions {
  /** The first delay before a dead worker is replaced; it doubles while workers keep dying. */
  initialRestartDelayMs?: number;
  maxRestartDelayMs?: number;
}

/**
 * `sluice gateway --workers N` in the cluster primary: N worker processes sharing the port,
 * each one that dies replaced (the primary keeps the local rate limits for all of them).
 * Replacements back off exponentially while workers keep dying (a configuration made invalid
 * after the start fails every new worker): a crash loop costs a fork a while, not a fork a
 * millisecond. Stopping sends each SIGTERM and waits until all have drained and exited.
 */
export class GatewayWorkers implements Component {
  readonly name = 'gateway workers';
  readonly #count: number;
  readonly #log: Logger;
  readonly #backoff: Backoff;
  readonly #timers = new Set<NodeJS.Timeout>();
  #attempt = 0;
  #stopping = false;

  constructor(count: number, log: Logger, options: GatewayWorkersOptions = {}) {
    this.#count = count;
    this.#log = log;
    this.#backoff = exponentialBackoff({
      initialDelay: options.initialRestartDelayMs ?? 500,
      maxDelay: options.maxRestartDelayMs ?? 30_000,
      jitter: 'none',
    });
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
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
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
    const forkedAt = Date.now();
    serveClusterLimits(worker);
    worker.once('exit', (code, signal) => {
      if (this.#stopping) return;
      if (Date.now() - forkedAt >= recoveredAfterMs) this.#attempt = 0;
      this.#attempt++;
      const delayMs = this.#backoff(this.#attempt, 0);
      this.#log.error(
        { pid: worker.process.pid, code, signal, attempt: this.#attempt, delayMs },
        'worker died; starting another',
      );
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        this.#fork();
      }, delayMs);
      this.#timers.add(timer);
    });
  }

  #running(): Worker[] {
    return Object.values(cluster.workers ?? {}).filter((w) => w !== undefined);
  }
}
