import type { BrokerCore } from './broker-core.js';
import type { Source } from './driver.js';
import type { DeadLetter, DeadLetters } from './types.js';
import { positiveInt } from './validate.js';

export class DeadLetterBox<T> implements DeadLetters<T> {
  readonly #core: BrokerCore;
  readonly #source: Source;

  constructor(core: BrokerCore, source: Source) {
    this.#core = core;
    this.#source = source;
  }

  async list(options: { limit?: number } = {}): Promise<DeadLetter<T>[]> {
    this.#core.assertOpen();
    const limit = positiveInt('limit', options.limit, 100);
    const records = await this.#core.driver.listDeadLetters(this.#source, limit);
    return records.map((r) => ({
      id: r.id,
      key: r.key,
      headers: r.headers,
      payload: parseOrUndefined(r.body) as T | undefined,
      attempt: r.attempt,
      publishedAt: new Date(r.publishedAt),
      failedAt: new Date(r.failedAt),
      error: r.error,
    }));
  }

  async replay(options: { ids?: readonly string[] } = {}): Promise<number> {
    this.#core.assertOpen();
    return this.#core.track(this.#core.driver.replayDeadLetters(this.#source, options.ids));
  }

  async purge(options: { ids?: readonly string[] } = {}): Promise<number> {
    this.#core.assertOpen();
    return this.#core.track(this.#core.driver.purgeDeadLetters(this.#source, options.ids));
  }
}

function parseOrUndefined(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}
