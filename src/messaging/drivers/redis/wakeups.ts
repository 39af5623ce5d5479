import type { Redis } from 'ioredis';

/**
 * Wake-ups over one subscriber connection: the scripts publish on a source's channel when
 * it may have work. After a reconnect every listener fires once, since notices sent while
 * the connection was down are lost.
 */
export class Wakeups {
  readonly #listeners = new Map<string, Set<() => void>>();
  readonly #subscriber: Redis;

  constructor(subscriber: Redis) {
    this.#subscriber = subscriber;
    subscriber.on('message', (channel: string) => this.#fire(channel));
  }

  listen(channel: string, listener: () => void): () => void {
    let set = this.#listeners.get(channel);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(channel, set);
      // Whatever was published before the subscription took effect would be missed.
      this.#subscriber.subscribe(channel).then(
        () => this.#fire(channel),
        () => {},
      );
    }
    set.add(listener);
    return () => {
      const current = this.#listeners.get(channel);
      if (current === undefined || !current.delete(listener) || current.size > 0) return;
      this.#listeners.delete(channel);
      this.#subscriber.unsubscribe(channel).catch(() => {});
    };
  }

  fireAll(): void {
    for (const channel of [...this.#listeners.keys()]) this.#fire(channel);
  }

  clear(): void {
    this.#listeners.clear();
  }

  #fire(channel: string): void {
    const set = this.#listeners.get(channel);
    if (set === undefined) return;
    for (const listener of [...set]) listener();
  }
}
