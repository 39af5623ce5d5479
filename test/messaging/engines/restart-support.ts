import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { isEngineUnavailableError } from '../../../src/core/errors.js';
import type { Broker, ConsumeOptions, Queue, Topic } from '../../../src/messaging/index.js';
import { gate, waitFor } from '../../conformance/helpers.js';

/** Where an engine restart stands: told to stop, then down (and later up again). */
interface Outage {
  stopping: boolean;
  down: boolean;
}

/**
 * Publishes `from`, `from + 1`, … one after another until stopped, and records every
 * rejection and which publishes resolved: all of them, those that resolved before the engine
 * was told to stop, and those begun once it was down (only the restarted engine has those).
 */
class Publisher {
  readonly resolved = new Set<number>();
  readonly resolvedBeforeStop = new Set<number>();
  readonly resolvedAfterStop = new Set<number>();
  readonly rejected: unknown[] = [];
  #running = true;
  readonly #done: Promise<void>;

  constructor(send: (n: number) => Promise<unknown>, from: number, outage: Outage) {
    this.#done = (async () => {
      for (let n = from; this.#running; n++) {
        const begunDown = outage.down;
        try {
          await send(n);
          this.resolved.add(n);
          if (!outage.stopping) this.resolvedBeforeStop.add(n);
          if (begunDown) this.resolvedAfterStop.add(n);
        } catch (error) {
          this.rejected.push(error);
        }
        await delay(2);
      }
    })();
  }

  stop(): Promise<void> {
    this.#running = false;
    return this.#done;
  }
}

const first = Array.from({ length: 50 }, (_, i) => i);

/**
 * What every restart test runs through the public API: a queue of 50 messages whose consumer
 * has handled 0-9 and holds the next ones (10-49) across the restart, a topic with the group
 * "audit", and a publisher for each that keeps going through the restart. The consumers are
 * started once, before the restart, and never again.
 */
export class RestartTraffic {
  readonly queue: Queue<number>;
  readonly events: Topic<number>;
  readonly handled = new Set<number>();
  readonly groupHandled = new Set<number>();
  /** Set by start(), once the held batch is held. */
  jobs!: Publisher;
  news!: Publisher;
  readonly #outage: Outage = { stopping: false, down: false };
  readonly #hold = gate();

  private constructor(broker: Broker) {
    this.queue = broker.queue<number>('jobs');
    this.events = broker.topic<number>('events');
  }

  /** Starts the consumers and the first messages; once the batch is held, the publishers. */
  static async start(broker: Broker, groupOptions?: ConsumeOptions): Promise<RestartTraffic> {
    const traffic = new RestartTraffic(broker);
    await traffic.#start(groupOptions);
    return traffic;
  }

  async #start(groupOptions: ConsumeOptions | undefined): Promise<void> {
    let holding = 0;
    this.queue.consume(
      async (m) => {
        if (m.payload >= 10 && m.payload < 50) {
          holding++;
          await this.#hold.promise;
        }
        this.handled.add(m.payload);
      },
      { prefetch: 8, concurrency: 2, pollInterval: 50 },
    );
    await this.events.subscribe(
      'audit',
      (m) => {
        this.groupHandled.add(m.payload);
      },
      groupOptions,
    );
    await this.queue.publishBatch(first.map((payload) => ({ payload })));
    await this.events.publish(-100);
    await waitFor('the first ten, a held batch', () => this.handled.size === 10 && holding === 2);
    await waitFor('the first event', () => this.groupHandled.has(-100));
    this.jobs = new Publisher((n) => this.queue.publish(n), 1000, this.#outage);
    this.news = new Publisher((n) => this.events.publish(n), 1000, this.#outage);
  }

  /**
   * Restarts the engine (with `restartEngine`, a private engine's or the shared RabbitMQ's)
   * while both publishers run, with `whileDown` run once it is down;
   * returns once 100 publishes of each, begun after it went down, resolved. Then it lets the
   * held handlers finish.
   */
  async restart(
    restartEngine: (whileDown: () => Promise<void>) => Promise<void>,
    whileDown: () => Promise<void>,
  ): Promise<void> {
    await waitFor('publishes before the restart', () => this.news.resolved.size >= 5);
    this.#outage.stopping = true;
    await restartEngine(async () => {
      this.#outage.down = true;
      await whileDown();
    });
    await waitFor(
      'publishes after the restart',
      () => this.jobs.resolvedAfterStop.size >= 100 && this.news.resolvedAfterStop.size >= 100,
      { timeoutMs: 30_000 },
    );
    await Promise.all([this.jobs.stop(), this.news.stop()]);
    this.#hold.open();
  }

  /** A publish to each made while the engine is down is rejected as unavailable. */
  async rejectsWhileDown(): Promise<void> {
    await assert.rejects(this.queue.publish(-1), isEngineUnavailableError);
    await assert.rejects(this.events.publish(-1), isEngineUnavailableError);
  }

  /** The first 50 and every later message whose publish resolved. */
  get everyQueued(): number[] {
    return [...first, ...this.jobs.resolved];
  }

  get rejected(): unknown[] {
    return [...this.jobs.rejected, ...this.news.rejected];
  }

  /** Waits until all of these were handled and the queue is empty; nothing rejected was stored. */
  async handledAll(queued: Iterable<number>, events: Iterable<number>): Promise<void> {
    const q = [...queued];
    const e = [...events];
    await waitFor('every queued message', () => q.every((n) => this.handled.has(n)), {
      timeoutMs: 30_000,
    });
    await waitFor('every event', () => e.every((n) => this.groupHandled.has(n)), {
      timeoutMs: 30_000,
    });
    await waitFor('the queue to drain', async () => {
      const s = await this.queue.stats();
      return s.depth + s.inFlight + s.delayed === 0;
    });
    assert.equal(this.handled.has(-1) || this.groupHandled.has(-1), false, 'rejected, not stored');
  }
}
