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
  return runRelay(store, options, async (limit) => {
    const rows = await store.pending(limit);
    await publishInOrder(broker, rows, (sent) => store.markSent(sent.map((r) => r.seq)));
    return rows.length;
  });
}

/**
 * Publishes up to `limit` pending rows and records them sent; resolves with how many rows
 * it took. A store whose rows need more than `pending()`/`markSent()` (say, locked in one
 * transaction) brings its own.
 */
export type RelayBatch = (limit: number) => Promise<number>;

/**
 * The relay loop around a store's batch: rounds of batches until one comes back short,
 * then a wait for `onAdd` or the poll interval; a failed round is retried with backoff.
 */
export function runRelay(
  store: Pick<OutboxStore<unknown>, 'onAdd'>,
  options: OutboxRelayOptions,
  batch: RelayBatch,
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
      const taken = await batch(batchSize);
      sent += taken;
      if (taken < batchSize) return sent;
    }
  };
  const serial = (): Promise<number> => {
    running = running.then(round, round);
    return running;
  };

  const idle = (ms: number): Promise<void> =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      wake = done;
    });

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
        await idle(pause);
        continue;
      }
      if (!dirty && !stopped) await idle(pollMs);
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

/**
 * Publishes rows in order, one batch per run of rows with the same destination, with
 * their outbox ids; `afterRun` sees each run once its publish resolved.
 */
export async function publishInOrder(
  broker: Broker,
  rows: readonly PendingOutboxMessage[],
  afterRun?: (run: readonly PendingOutboxMessage[]) => Promise<void>,
): Promise<void> {
  for (const run of runs(rows)) {
    const messages = run.map(
      (r): OutgoingMessage<unknown> => ({
        payload: decodePayload(r.body),
        id: r.id,
        key: r.key,
        headers: r.headers,
        delay: r.delayMs,
      }),
    );
    const first = run[0]!;
    const target = first.kind === 'queue' ? broker.queue(first.name) : broker.topic(first.name);
    await target.publishBatch(messages);
    await afterRun?.(run);
  }
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
