import type { Pool } from 'pg';
import { isSluiceError } from '../../../core/errors.js';
import type { Broker } from '../../broker.js';
import { decodePayload } from '../../codec.js';
import type { PendingOutboxMessage } from '../../outbox/outbox.js';
import type { OutboxRelay, OutboxRelayOptions } from '../../outbox/relay.js';
import type { OutgoingMessage } from '../../types.js';
import { positiveInt } from '../../validate.js';
import { inTransaction } from './context.js';
import { type OutboxRow, toPending } from './outbox.js';

interface Wakeable {
  onAdd(listener: () => void): () => void;
}

const nowMs = 'floor(extract(epoch FROM now()) * 1000)::bigint';

/**
 * The relay of the shared outbox contract, with one difference the shared relay cannot
 * make through `pending()`/`markSent()`: each round runs in one transaction that locks its
 * rows (FOR UPDATE SKIP LOCKED), publishes them with their ids, deletes them and commits.
 * Concurrent relays skip each other's rows; a relay that dies before COMMIT leaves its
 * rows to be published again with the same ids, which the broker's dedupe window drops.
 */
export function startLockingRelay(
  pool: Pool,
  table: string,
  store: Wakeable,
  broker: Broker,
  options: OutboxRelayOptions,
): OutboxRelay {
  const batchSize = positiveInt('batchSize', options.batchSize, 500);
  const pollMs = positiveInt('pollInterval', options.pollInterval, 1000);
  let stopped = false;
  let dirty = true;
  let wake: (() => void) | undefined;
  let running: Promise<number> = Promise.resolve(0);
  const unsubscribe = store.onAdd(() => {
    dirty = true;
    wake?.();
  });

  const batch = (): Promise<number> =>
    inTransaction(pool, async (client) => {
      const { rows } = await client.query<OutboxRow>(
        `SELECT oseq, kind, name, id, key, headers, body, greatest(0, due_at - ${nowMs}) AS wait
         FROM ${table} ORDER BY oseq LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [batchSize],
      );
      const pending = rows.map(toPending);
      for (const group of runs(pending)) await publish(broker, group);
      if (rows.length > 0) {
        await client.query(`DELETE FROM ${table} WHERE oseq = ANY($1::bigint[])`, [
          rows.map((r) => r.oseq),
        ]);
      }
      return rows.length;
    });
  const round = async (): Promise<number> => {
    let sent = 0;
    for (;;) {
      dirty = false;
      const moved = await batch();
      sent += moved;
      if (moved < batchSize) return sent;
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
        await idle(pause);
        continue;
      }
      if (!dirty && !stopped) await idle(pollMs);
    }
  })();

  function idle(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });
  }

  const stop = async (): Promise<void> => {
    stopped = true;
    wake?.();
    unsubscribe();
    await loop;
  };
  options.signal?.addEventListener('abort', () => void stop(), { once: true });
  return { flush: serial, stop, closed: loop };
}

async function publish(broker: Broker, group: readonly PendingOutboxMessage[]): Promise<void> {
  const messages = group.map(
    (r): OutgoingMessage<unknown> => ({
      payload: decodePayload(r.body),
      id: r.id,
      key: r.key,
      headers: r.headers,
      delay: r.delayMs,
    }),
  );
  const first = group[0]!;
  const target = first.kind === 'queue' ? broker.queue(first.name) : broker.topic(first.name);
  await target.publishBatch(messages);
}

/** Consecutive rows with the same destination, in order. */
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
