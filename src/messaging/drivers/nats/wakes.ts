import type { NatsConnection, Subscription } from '@nats-io/transport-node';

interface Wake {
  readonly listeners: Set<() => void>;
  readonly sub: Subscription;
}

/**
 * Wake-ups across processes: after storing, a producer sends an empty core NATS message on
 * the source's wake subject; consumers idle on that source listen to it. Nothing is stored,
 * and with no listener the server drops it at once.
 */
export class Wakes {
  readonly #nc: NatsConnection;
  readonly #wakes = new Map<string, Wake>();
  readonly #outgoing = new Set<string>();

  constructor(nc: NatsConnection) {
    this.#nc = nc;
  }

  on(subject: string, listener: () => void): () => void {
    let wake = this.#wakes.get(subject);
    if (wake === undefined) {
      const listeners = new Set<() => void>();
      // Under a flood of publishes, many wake-ups arrive per turn of the event loop: one will do.
      let queued = false;
      const sub = this.#nc.subscribe(subject, {
        callback: () => {
          if (queued) return;
          queued = true;
          setImmediate(() => {
            queued = false;
            for (const l of listeners) l();
          });
        },
      });
      wake = { listeners, sub };
      this.#wakes.set(subject, wake);
      // A wake-up sent before the server had this subscription was lost: once the server has
      // it (the flush's round trip), wake the listeners, so the claim they made before
      // listening is made again.
      this.#nc.flush().then(
        () => {
          for (const l of listeners) l();
        },
        // Closing: nobody is waiting.
        () => {},
      );
    }
    wake.listeners.add(listener);
    const current = wake;
    return () => {
      current.listeners.delete(listener);
      if (current.listeners.size === 0 && this.#wakes.get(subject) === current) {
        this.#wakes.delete(subject);
        current.sub.unsubscribe();
      }
    };
  }

  /** Tells every listener, here and in other processes, once per turn of the event loop. */
  send(subject: string): void {
    if (this.#outgoing.size === 0) {
      setImmediate(() => {
        const subjects = [...this.#outgoing];
        this.#outgoing.clear();
        try {
          for (const s of subjects) this.#nc.publish(s);
        } catch {
          // Closing: nobody here is waiting, and others fall back to polling.
        }
      });
    }
    this.#outgoing.add(subject);
  }

  /** Tells only this process's listeners. */
  local(subject: string): void {
    for (const l of this.#wakes.get(subject)?.listeners ?? []) l();
  }

  close(): void {
    for (const wake of this.#wakes.values()) {
      wake.listeners.clear();
      wake.sub.unsubscribe();
    }
    this.#wakes.clear();
  }
}
