import { type Channel, subscribe, unsubscribe } from 'node:diagnostics_channel';

export type Listener = (message: unknown) => void;

/**
 * Subscribes every listener and returns one idempotent unsubscribe. A subscriber that
 * throws would surface as an uncaught exception in whichever code published, so each
 * listener is guarded: its first failure is reported as a process warning, later ones
 * are dropped.
 */
export function subscribeAll(listeners: ReadonlyArray<readonly [Channel, Listener]>): () => void {
  const active = listeners.map(([channel, listener]) => {
    let warned = false;
    const guarded = (message: unknown): void => {
      try {
        listener(message);
      } catch (error) {
        if (warned) return;
        warned = true;
        const detail = error instanceof Error ? error.message : String(error);
        process.emitWarning(
          `Sluice telemetry bridge failed on ${String(channel.name)}: ${detail}`,
          {
            code: 'SLUICE_OBSERVE_BRIDGE',
          },
        );
      }
    };
    subscribe(channel.name, guarded);
    return [channel, guarded] as const;
  });
  let subscribed = true;
  return () => {
    if (!subscribed) return;
    subscribed = false;
    for (const [channel, guarded] of active) unsubscribe(channel.name, guarded);
  };
}

/**
 * Shares one installation per key among callers: the first call installs, the returned
 * release functions count down, and the last one uninstalls.
 */
export function refCounted<K extends object>(
  installs: WeakMap<K, { count: number; stop: () => void }>,
  key: K,
  install: () => () => void,
): () => void {
  let entry = installs.get(key);
  if (entry === undefined) {
    entry = { count: 0, stop: install() };
    installs.set(key, entry);
  }
  entry.count += 1;
  const held = entry;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    held.count -= 1;
    if (held.count === 0) {
      installs.delete(key);
      held.stop();
    }
  };
}

/** Pairs a channel with a listener for the event type published on it. */
export function on<T>(
  channel: Channel,
  listener: (event: T) => void,
): readonly [Channel, Listener] {
  return [channel, (message) => listener(message as T)];
}
