import { type Clock, systemClock } from './clock.js';
import { ClosedError, InvalidArgumentError } from './errors.js';
import { anySignal, throwIfAborted } from './signals.js';
import { within } from './time-limit.js';

export interface StopOptions {
  /** How long the component may take to finish in-flight work, in ms. */
  drainTimeout: number;
  /** Aborts when that time is up: stop accepting, close what is left, return. */
  signal: AbortSignal;
}

/** Anything with a start and a graceful stop: servers, consumers, pools, sidecars. */
export interface Component {
  readonly name: string;
  start(signal?: AbortSignal): Promise<void> | void;
  stop(options: StopOptions): Promise<void> | void;
}

export type LifecycleState = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';

export interface StopReport {
  /** Components that stopped in time, in the order they stopped. */
  stopped: string[];
  /** Components still stopping when the drain deadline passed. */
  overran: string[];
  failed: { name: string; error: unknown }[];
}

export type LifecycleEvent =
  | { type: 'starting' | 'started' | 'stopping' | 'stopped' | 'overran'; name: string }
  | { type: 'start-failed' | 'stop-failed'; name: string; error: unknown };

export interface LifecycleOptions {
  /** Drain time for the rollback after a failed start, in ms. Default 10 s. */
  rollbackTimeout?: number | undefined;
  onEvent?: (event: LifecycleEvent) => void;
  clock?: Clock;
}

const defaultDrainTimeout = 30_000;

/**
 * Starts components in the order they were added and stops them in reverse. A failed start
 * stops those already started, then rethrows. Stopping shares one drain deadline across all
 * components: one that overruns is reported and the next is stopped anyway with what time
 * is left (possibly none, with its signal already aborted).
 */
export class Lifecycle {
  readonly #components: Component[] = [];
  readonly #started: Component[] = [];
  readonly #options: LifecycleOptions;
  readonly #clock: Clock;
  #state: LifecycleState = 'idle';
  #startAbort: AbortController | undefined;
  #starting: Promise<void> | undefined;
  #stopping: Promise<StopReport> | undefined;

  constructor(options: LifecycleOptions = {}) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
  }

  get state(): LifecycleState {
    return this.#state;
  }

  add(...components: Component[]): this {
    if (this.#state !== 'idle') throw new ClosedError('Cannot add components once started');
    this.#components.push(...components);
    return this;
  }

  start(signal?: AbortSignal): Promise<void> {
    if (this.#state !== 'idle') {
      return Promise.reject(new ClosedError(`Cannot start a lifecycle that is ${this.#state}`));
    }
    this.#state = 'starting';
    this.#startAbort = new AbortController();
    this.#starting = this.#startAll(signal, this.#startAbort.signal);
    return this.#starting;
  }

  async #startAll(outer: AbortSignal | undefined, own: AbortSignal): Promise<void> {
    const combined = anySignal(outer, own);
    try {
      for (const component of this.#components) {
        throwIfAborted(combined.signal);
        this.#emit({ type: 'starting', name: component.name });
        try {
          await component.start(combined.signal);
        } catch (error) {
          this.#emit({ type: 'start-failed', name: component.name, error });
          throw error;
        }
        this.#started.push(component);
        this.#emit({ type: 'started', name: component.name });
      }
      throwIfAborted(combined.signal);
      this.#state = 'running';
    } catch (error) {
      // When stop() interrupted the start, it drains the started components itself, unless
      // its deadline passed first and a component finished starting only afterwards.
      if (this.#stopping === undefined) {
        this.#state = 'stopping';
        await this.#drain(this.#options.rollbackTimeout ?? 10_000);
        this.#state = 'stopped';
      } else if (this.#state === 'stopped') {
        await this.#drain(0);
      }
      throw error;
    } finally {
      combined.dispose();
    }
  }

  /** Idempotent: a second call returns the first call's report. */
  stop(options: { drainTimeout?: number } = {}): Promise<StopReport> {
    const drainTimeout = options.drainTimeout ?? defaultDrainTimeout;
    if (!(drainTimeout >= 0)) {
      return Promise.reject(
        new InvalidArgumentError(`drainTimeout must be >= 0, got ${drainTimeout}`),
      );
    }
    this.#stopping ??= this.#stopAll(drainTimeout);
    return this.#stopping;
  }

  async #stopAll(drainTimeout: number): Promise<StopReport> {
    const deadline = this.#clock.now() + drainTimeout;
    if (this.#state === 'starting') {
      this.#startAbort?.abort(new ClosedError('Stopped while starting'));
      await within(
        this.#starting!.catch(() => {}),
        drainTimeout,
      );
    }
    this.#state = 'stopping';
    const report = await this.#drain(Math.max(0, deadline - this.#clock.now()));
    this.#state = 'stopped';
    return report;
  }

  async #drain(drainTimeout: number): Promise<StopReport> {
    const deadline = this.#clock.now() + drainTimeout;
    const report: StopReport = { stopped: [], overran: [], failed: [] };
    while (this.#started.length > 0) {
      const component = this.#started.pop()!;
      const remaining = Math.max(0, deadline - this.#clock.now());
      const controller = new AbortController();
      if (remaining === 0) controller.abort(new ClosedError('Drain deadline passed'));
      this.#emit({ type: 'stopping', name: component.name });
      const stopping = Promise.resolve()
        .then(() => component.stop({ drainTimeout: remaining, signal: controller.signal }))
        .then(
          () => 'stopped' as const,
          (error: unknown) => ({ error }),
        );
      const outcome = await within(stopping, remaining);
      controller.abort(new ClosedError('Drain deadline passed'));
      if (outcome === 'stopped') {
        report.stopped.push(component.name);
        this.#emit({ type: 'stopped', name: component.name });
      } else if (outcome === undefined) {
        report.overran.push(component.name);
        this.#emit({ type: 'overran', name: component.name });
      } else {
        report.failed.push({ name: component.name, error: outcome.error });
        this.#emit({ type: 'stop-failed', name: component.name, error: outcome.error });
      }
    }
    return report;
  }

  #emit(event: LifecycleEvent): void {
    this.#options.onEvent?.(event);
  }
}
