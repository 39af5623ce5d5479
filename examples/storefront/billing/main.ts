import type { Consumer } from 'sluice/messaging';
import { dataFile, openBroker } from '../shared/env.js';
import { openDatabase, subscribeOnce } from '../shared/ledger.js';
import { sendJson, serve } from '../shared/service.js';

const db = openDatabase(dataFile('billing.db'));
db.exec(`CREATE TABLE IF NOT EXISTS invoices (
  id INTEGER PRIMARY KEY, order_id TEXT NOT NULL, amount INTEGER NOT NULL, at TEXT NOT NULL)`);
const insert = db.prepare('INSERT INTO invoices (order_id, amount, at) VALUES (?, ?, ?)');
const byOrder = db.prepare('SELECT id, order_id, amount, at FROM invoices WHERE order_id = ?');

const broker = await openBroker();
let consumer: Consumer | undefined;
const { logger, unlessStopped } = serve({
  name: 'billing',
  route: async (req, res, url) => {
    const match = /^\/invoices\/([\w-]+)$/.exec(url.pathname);
    if (req.method !== 'GET' || match === null) return false;
    sendJson(res, 200, byOrder.all(match[1]));
    return '/invoices/:orderId';
  },
  onStop: async () => {
    await consumer?.stop({ drainTimeout: 5_000 });
    await broker.close();
    db.close();
  },
});

consumer = await unlessStopped(
  subscribeOnce(broker, db, 'billing', (_tx, event) => {
    if (event.type !== 'order.fulfilled') return;
    insert.run(event.orderId, event.total, new Date().toISOString());
    logger.info({ orderId: event.orderId }, 'invoice issued');
  }),
);
