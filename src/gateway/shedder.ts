import { channels } from '../core/diagnostics.js';
import {
  type ConcurrencyLimit,
  fixedConcurrencyLimit,
  type LimitToken,
  recentEventLoopDelayMs,
} from '../flow/index.js';

export interface ShedderOptions {
  /** Requests in flight the gateway takes at most. */
  maxInflight: number;
  /** Refuse new requests while the event loop lags more than this (see recentEventLoopDelayMs). */
  maxEventLoopDelayMs: number;
  retryAfterMs: number;
}

/**
 * Decides, before routing, whether the gateway takes one more request. It refuses when
 * `maxInflight` requests are in flight or when its own event loop is lagging: answering 503
 * at once is cheaper than queueing work it can no longer serve in time. It is the last line
 * of defence for the gateway process itself; each upstream is protected by its own adaptive
 * limit (one gateway-wide adaptive limit learnt from every route, so a fast route shrank
 * the limit of a slow one).
 */
export class Shedder {
  readonly #limit: ConcurrencyLimit;
  shed = 0;

  constructor(readonly options: ShedderOptions) {
    this.#limit = fixedConcurrencyLimit(options.maxInflight, { name: 'gateway' });
    // Starts the process's one event-loop monitor now, so the first requests are judged.
    recentEventLoopDelayMs();
  }

  get #lagging(): boolean {
    return recentEventLoopDelayMs() > this.options.maxEventLoopDelayMs;
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
}
