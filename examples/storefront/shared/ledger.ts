import Database from 'better-sqlite3';
import {
  type Broker,
  type Consumer,
  idempotent,
  type Message,
  sqliteIdempotencyStore,
} from 'sluice/messaging';
import type { OrderEvent } from './env.js';

/**
 * Subscribes `group` to order events and applies each one at most once: the processed-event
 * record commits in the same SQLite transaction as `apply`'s writes.
 */
export function subscribeOnce(
  broker: Broker,
  db: Database.Database,
  group: string,
  apply: (tx: Database.Database, event: OrderEvent) => void,
): Promise<Consumer> {
  const store = sqliteIdempotencyStore(db);
  const handler = idempotent<OrderEvent, Database.Database>(
    async (message, { transaction }) => {
      await transaction((tx) => apply(tx, message.payload));
    },
    // Keyed by what happened, not by delivery: a republished event is still a duplicate.
    { store, key: (m: Message<OrderEvent>) => `${group}:${m.payload.orderId}:${m.payload.type}` },
  );
  return broker.topic<OrderEvent>('order-events').subscribe(group, handler, {
    prefetch: 16,
    concurrency: 1,
  });
}

export function openDatabase(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  return db;
}
