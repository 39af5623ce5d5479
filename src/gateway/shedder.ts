import { monitorEventLoopDelay } from 'node:perf_hooks';
import { channels } from '../core/diagnostics.js';
import {
  type ConcurrencyLimit,
  fixedConcurrencyLimit,
  gradientLimit,
  type LimitToken,
} from '../flow/index.js';

export interface ShedderOptions {
  /** Requests in flight the gateway takes at most. */
  maxInflight: number;
  /** Let the in-flight limit adapt to latency (gradient), up to `maxInflight`. */
  adaptive: boolean;
  /** Refuse new requests while the event loop lags more than this (p99 over a window). */
  maxEventLoopDelayMs: number;
  retryAfterMs: number;
}

const WINDOW_MS = 500;

/**
 * Decides, before routing, whether the gateway takes one more request. It refuses when the
 * concurrency limit is reached or when its own event loop is lagging: answering 503 at
 * once is cheaper than queueing work it can no longer serve in time.
 */
export class Shedder {
  readonly #limit: ConcurrencyLimit;
  readonly #histogram = monitorEventLoopDelay({ resolution: 10 });
  readonly #timer: NodeJS.Timeout;
  #lagging = false;
  shed = 0;

  constructor(readonly options: ShedderOptions) {
    this.#limit = options.adaptive
      ? gradientLimit({
          name: 'gateway',
          max: options.maxInflight,
          initial: Math.min(100, options.maxInflight),
        })
      : fixedConcurrencyLimit(options.maxInflight, { name: 'gateway' });
    this.#histogram.enable();
    // The first window would mostly measure start-up (module loading), not load.
    let first = true;
    this.#timer = setInterval(() => {
      if (!first)
        this.#lagging = this.#histogram.percentile(99) / 1e6 > options.maxEventLoopDelayMs;
      first = false;
      this.#histogram.reset();
    }, WINDOW_MS);
    this.#timer.unref();
  }

  /** A token to release when the response is done, or undefined: shed this request. */
  admit(): LimitToken | undefined {
    const token = this.#lagging ? undefined : this.#limit.tryAcquire();
    if (token === undefined) {
      this.shed++;
      if (channels.shed.hasSubscribers)
        channels.shed.publish({ name: 'gateway', retryAfterMs: this.options.retryAfterMs });
    }
    return token;
  }

  toJSON(): Record<string, unknown> {
    return {
      limit: this.#limit.limit,
      inflight: this.#limit.inflight,
      lagging: this.#lagging,
      shed: this.shed,
    };
  }

  close(): void {
    clearInterval(this.#timer);
    this.#histogram.disable();
  }
}
