import Database from 'better-sqlite3';
import { sqliteOutbox } from 'sluice/messaging';
import type { OrderMessage } from '../shared/env.js';

export type OrderStatus = 'pending' | 'fulfilled' | 'payment_failed';

export interface Order extends OrderMessage {
  status: OrderStatus;
  customer: string | null;
  createdAt: string;
}

interface Row {
  id: string;
  body: string;
  status: OrderStatus;
}

/** Orders and their outbox share one SQLite file, so both commit in one transaction. */
export function openOrderStore(file: string) {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.exec(`CREATE TABLE IF NOT EXISTS orders (
    id TEXT PRIMARY KEY, idempotency_key TEXT NOT NULL UNIQUE, body TEXT NOT NULL,
    status TEXT NOT NULL)`);
  const outbox = sqliteOutbox(db);
  const byKey = db.prepare('SELECT id, body, status FROM orders WHERE idempotency_key = ?');
  const byId = db.prepare('SELECT id, body, status FROM orders WHERE id = ?');
  const insert = db.prepare(
    'INSERT INTO orders (id, idempotency_key, body, status) VALUES (?, ?, ?, ?)',
  );
  const setStatus = db.prepare('UPDATE orders SET status = ? WHERE id = ?');
  const toOrder = (row: Row | undefined): Order | undefined =>
    row === undefined ? undefined : { ...(JSON.parse(row.body) as Order), status: row.status };

  /** Stores the order and its `orders` queue message, or returns the order already under `key`. */
  const place = db.transaction((key: string, order: Order): { order: Order; created: boolean } => {
    const existing = toOrder(byKey.get(key) as Row | undefined);
    if (existing !== undefined) return { order: existing, created: false };
    insert.run(order.id, key, JSON.stringify(order), order.status);
    const message: OrderMessage = { id: order.id, items: order.items, total: order.total };
    outbox.add(db, { queue: 'orders', id: order.id, key: order.id, payload: message });
    return { order, created: true };
  });

  return {
    db,
    outbox,
    place: (key: string, order: Order) => place.immediate(key, order),
    findByKey: (key: string) => toOrder(byKey.get(key) as Row | undefined),
    get: (id: string) => toOrder(byId.get(id) as Row | undefined),
    setStatus: (id: string, status: OrderStatus) => setStatus.run(status, id).changes > 0,
  };
}
