import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dataFile, openBroker, upstream } from '../shared/env.js';
import { readJson, sendJson, serve } from '../shared/service.js';
import { CatalogUnavailableError, catalogPrices, orderTotal } from './prices.js';
import { type Order, type OrderStatus, openOrderStore } from './store.js';

const store = openOrderStore(dataFile('orders.db'));
const prices = catalogPrices(upstream('catalog'));
const broker = await openBroker();
const relay = store.outbox.relay(broker);
const statuses: OrderStatus[] = ['pending', 'fulfilled', 'payment_failed'];

function parseItems(body: unknown): Order['items'] | undefined {
  const items = (body as { items?: unknown } | null)?.items;
  if (!Array.isArray(items) || items.length === 0) return undefined;
  const parsed: Order['items'] = [];
  for (const item of items as { sku?: unknown; qty?: unknown }[]) {
    if (typeof item?.sku !== 'string' || !Number.isInteger(item.qty) || Number(item.qty) < 1)
      return undefined;
    parsed.push({ sku: item.sku, qty: Number(item.qty) });
  }
  return parsed;
}

async function create(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const key = req.headers['idempotency-key'];
  if (typeof key !== 'string' || key === '' || key.length > 200) {
    return sendJson(res, 400, { title: 'an Idempotency-Key header is required' });
  }
  const items = parseItems(await readJson(req));
  if (items === undefined) return sendJson(res, 400, { title: 'items: [{sku, qty}] required' });
  const user = req.headers['x-user-id'];
  const customer = typeof user === 'string' ? user : null;
  // One customer's key never returns another customer's order.
  const scopedKey = `${customer ?? ''}:${key}`;
  const existing = store.findByKey(scopedKey);
  if (existing !== undefined) return sendReplay(res, existing, items);

  let priced: ReturnType<typeof orderTotal>;
  try {
    priced = orderTotal(items, await prices());
  } catch (error) {
    if (!(error instanceof CatalogUnavailableError)) throw error;
    return sendJson(
      res,
      503,
      { title: 'prices are unavailable, try again' },
      { 'retry-after': '1' },
    );
  }
  if ('unknownSku' in priced) {
    return sendJson(res, 422, { title: `no such product: ${priced.unknownSku}` });
  }
  const order: Order = {
    id: randomUUID(),
    items,
    total: priced.total,
    status: 'pending',
    customer,
    createdAt: new Date().toISOString(),
  };
  const placed = store.place(scopedKey, order);
  if (placed.created) sendOrder(res, 201, placed.order);
  else sendReplay(res, placed.order, items);
}

/**
 * A key sent again answers with the order it made, but only for the same request: a key
 * reused for other items is the client's mistake, and guessing which one it meant is worse.
 */
function sendReplay(res: ServerResponse, order: Order, items: Order['items']): void {
  if (JSON.stringify(order.items) === JSON.stringify(items)) sendOrder(res, 200, order);
  else {
    sendJson(res, 422, {
      title: 'this Idempotency-Key was already used for a different order',
      order: order.id,
    });
  }
}

function sendOrder(res: ServerResponse, status: number, order: Order): void {
  sendJson(res, status, order, { location: `/api/orders/${order.id}` });
}

serve({
  name: 'orders',
  route: async (req, res, url) => {
    if (url.pathname === '/api/orders' && req.method === 'POST') {
      await create(req, res);
      return '/api/orders';
    }
    const match = /^\/api\/orders\/([\w-]+)(\/status)?$/.exec(url.pathname);
    if (match === null) return false;
    const id = match[1]!;
    if (match[2] === undefined && req.method === 'GET') {
      // Only the customer's own order: the gateway forwards the verified subject as
      // x-user-id (and drops any the client sent). Another's order is as absent as a
      // missing one, so ids cannot be probed.
      const user = req.headers['x-user-id'];
      const order = store.get(id);
      if (order === undefined || typeof user !== 'string' || order.customer !== user) {
        sendJson(res, 404, { title: 'no such order' });
      } else sendJson(res, 200, order);
      return '/api/orders/:id';
    }
    // Fulfillment reports progress here, so it never touches this service's tables.
    if (match[2] !== undefined && req.method === 'PUT') {
      const { status } = (await readJson(req)) as { status?: OrderStatus };
      if (status === undefined || !statuses.includes(status)) {
        sendJson(res, 400, { title: `status must be one of ${statuses.join(', ')}` });
      } else if (!store.setStatus(id, status)) sendJson(res, 404, { title: 'no such order' });
      else sendJson(res, 200, { id, status });
      return '/api/orders/:id/status';
    }
    return false;
  },
  onStop: async () => {
    await relay.stop();
    await broker.close();
    store.db.close();
  },
});
