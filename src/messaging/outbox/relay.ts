import { isSluiceError } from '../../core/errors.js';
import type { Broker } from '../broker.js';
import { decodePayload } from '../codec.js';
import type { OutgoingMessage, StopOptions } from '../types.js';
import { positiveInt } from '../validate.js';
import type { OutboxStore, PendingOutboxMessage } from './outbox.js';

export interface OutboxRelayOptions {
  /** Rows published per round. Default 500. */
  batchSize?: number;
  /** Fallback poll when no wake-up arrives. Default 1 s. */
  pollInterval?: number;
  /** Called when a round fails; the relay waits and tries the same rows again. */
  onError?: (error: unknown) => void;
  signal?: AbortSignal;
}

export interface OutboxRelay {
  /** Publishes everything pending now; resolves with how many rows were sent. */
  flush(): Promise<number>;
  stop(options?: StopOptions): Promise<void>;
  readonly closed: Promise<void>;
}

/**
 * Publishes outbox rows in order, each with its outbox id, then deletes them. A crash
 * between the publish and the delete publishes those rows again with the same ids, which
 * the destination's dedupe window drops: no duplicate as long as the relay is back within
 * the window (120 s by default).
 */
export function startOutboxRelay<Tx>(
  store: OutboxStore<Tx>,
  broker: Broker,
  options: OutboxRelayOptions = {},
): OutboxRelay {
  const batchSize = positiveInt('batchSize', options.batchSize, 500);
  const pollMs = positiveInt('pollInterval', options.pollInterval, 1000);
  let stopped = false;
  let wake: (() => void) | undefined;
  let dirty = true;
  let running: Promise<number> = Promise.resolve(0);
  const unsubscribe = store.onAdd(() => {
    dirty = true;
    wake?.();
  });

  const round = async (): Promise<number> => {
    let sent = 0;
    for (;;) {
      dirty = false;
      const rows = await store.pending(batchSize);
      if (rows.length === 0) return sent;
      for (const group of runs(rows)) {
        const messages: OutgoingMessage<unknown>[] = group.map((r) => ({
          payload: decodePayload(r.body),
          id: r.id,
          key: r.key,
          headers: r.headers,
          delay: r.delayMs,
        }));
        const first = group[0]!;
        const target = first.kind === 'queue' ? broker.queue(first.name) : broker.topic(first.name);
        await target.publishBatch(messages);
        await store.markSent(group.map((r) => r.seq));
        sent += group.length;
      }
      if (rows.length < batchSize) return sent;
    }
  };
  const serial = (): Promise<number> => {
    running = running.then(round, round);
    return running;
  };

  const loop = (async () => {
    let pause = 50;
    while (!stopped) {
      try {
        await serial();
        pause = 50;
      } catch (error) {
        if (isSluiceError(error, 'SLUICE_CLOSED')) break;
        options.onError?.(error);
        pause = Math.min(pause * 2, 5000);
        await new Promise((r) => setTimeout(r, pause));
        continue;
      }
      if (dirty || stopped) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  })();

  const stop = async (): Promise<void> => {
    stopped = true;
    wake?.();
    unsubscribe();
    await loop;
  };
  options.signal?.addEventListener('abort', () => void stop(), { once: true });
  return { flush: serial, stop, closed: loop };
}

/** Splits rows into consecutive runs with the same destination, keeping their order. */
function runs(rows: readonly PendingOutboxMessage[]): PendingOutboxMessage[][] {
  const out: PendingOutboxMessage[][] = [];
  for (const row of rows) {
    const last = out.at(-1);
    if (last !== undefined && last[0]!.kind === row.kind && last[0]!.name === row.name)
      last.push(row);
    else out.push([row]);
  }
  return out;
}
