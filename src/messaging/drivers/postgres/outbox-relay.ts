import type { Pool } from 'pg';
import type { Broker } from '../../broker.js';
import type { OutboxStore } from '../../outbox/outbox.js';
import {
  type OutboxRelay,
  type OutboxRelayOptions,
  publishInOrder,
  runRelay,
} from '../../outbox/relay.js';
import { inTransaction } from './context.js';
import { type OutboxRow, toPending } from './outbox.js';

const nowMs = 'floor(extract(epoch FROM now()) * 1000)::bigint';

/**
 * The relay of the shared outbox contract, with one difference the shared relay cannot
 * make through `pending()`/`markSent()`: each batch runs in one transaction that locks its
 * rows (FOR UPDATE SKIP LOCKED), publishes them with their ids, deletes them and commits.
 * Concurrent relays skip each other's rows; a relay that dies before COMMIT leaves its
 * rows to be published again with the same ids, which the broker's dedupe window drops.
 */
export function startLockingRelay(
  pool: Pool,
  table: string,
  store: Pick<OutboxStore<unknown>, 'onAdd'>,
  broker: Broker,
  options: OutboxRelayOptions,
): OutboxRelay {
  return runRelay(store, options, (limit) =>
    inTransaction(pool, async (client) => {
      const { rows } = await client.query<OutboxRow>(
        `SELECT oseq, kind, name, id, key, headers, body, greatest(0, due_at - ${nowMs}) AS wait
         FROM ${table} ORDER BY oseq LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [limit],
      );
      await publishInOrder(broker, rows.map(toPending));
      if (rows.length > 0) {
        await client.query(`DELETE FROM ${table} WHERE oseq = ANY($1::bigint[])`, [
          rows.map((r) => r.oseq),
        ]);
      }
      return rows.length;
    }),
  );
}
