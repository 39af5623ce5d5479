import type { Consumer } from 'sluice/messaging';
import { dataFile, openBroker } from '../shared/env.js';
import { openDatabase, subscribeOnce } from '../shared/ledger.js';
import { sendJson, serve } from '../shared/service.js';

const db = openDatabase(dataFile('inventory.db'));
db.exec(`CREATE TABLE IF NOT EXISTS stock (sku TEXT PRIMARY KEY, quantity INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS stock_changes (
    order_id TEXT NOT NULL, sku TEXT NOT NULL, delta INTEGER NOT NULL, at TEXT NOT NULL)`);
const seed = db.prepare('INSERT OR IGNORE INTO stock (sku, quantity) VALUES (?, ?)');
for (const sku of ['tea-green', 'tea-black', 'mug-blue', 'kettle']) seed.run(sku, 100);

const decrement = db.prepare('UPDATE stock SET quantity = quantity - ? WHERE sku = ?');
const record = db.prepare(
  'INSERT INTO stock_changes (order_id, sku, delta, at) VALUES (?, ?, ?, ?)',
);
const changes = db.prepare('SELECT sku, delta, at FROM stock_changes WHERE order_id = ?');
const stock = db.prepare('SELECT sku, quantity FROM stock ORDER BY sku');

const broker = await openBroker();
let consumer: Consumer | undefined;
const { logger, unlessStopped } = serve({
  name: 'inventory',
  route: async (req, res, url) => {
    if (req.method !== 'GET') return false;
    if (url.pathname === '/stock') {
      sendJson(res, 200, stock.all());
      return '/stock';
    }
    const match = /^\/changes\/([\w-]+)$/.exec(url.pathname);
    if (match === null) return false;
    sendJson(res, 200, changes.all(match[1]));
    return '/changes/:sku';
  },
  onStop: async () => {
    await consumer?.stop({ drainTimeout: 5_000 });
    await broker.close();
    db.close();
  },
});

consumer = await unlessStopped(
  subscribeOnce(broker, db, 'inventory', (_tx, event) => {
    if (event.type !== 'order.fulfilled') return;
    const at = new Date().toISOString();
    for (const item of event.items) {
      decrement.run(item.qty, item.sku);
      record.run(event.orderId, item.sku, -item.qty, at);
    }
    logger.info({ orderId: event.orderId }, 'stock decremented');
  }),
);
