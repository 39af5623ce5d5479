import { openDatabase } from '../shared/ledger.js';

export interface Charge {
  orderId: string;
  amount: number;
}

/**
 * Payment's ledger, one charge per order, in SQLite under the data folder: a charge made
 * stands across restarts, so `GET /charges/:id` still answers for it and a retried charge
 * after a crash is not a second one.
 */
export function openCharges(file: string) {
  const db = openDatabase(file);
  db.exec(`CREATE TABLE IF NOT EXISTS charges (
    order_id TEXT PRIMARY KEY, amount REAL NOT NULL, at TEXT NOT NULL)`);
  const select = db.prepare('SELECT order_id AS orderId, amount FROM charges WHERE order_id = ?');
  const insert = db.prepare(
    'INSERT INTO charges (order_id, amount, at) VALUES (?, ?, ?) ON CONFLICT (order_id) DO NOTHING',
  );
  const get = (orderId: string): Charge | undefined => select.get(orderId) as Charge | undefined;
  return {
    get,
    /** Charges `orderId` once: a second call returns the first charge, whatever its amount. */
    charge: (orderId: string, amount: number): Charge => {
      insert.run(orderId, amount, new Date().toISOString());
      return get(orderId)!;
    },
    close: (): void => {
      db.close();
    },
  };
}
