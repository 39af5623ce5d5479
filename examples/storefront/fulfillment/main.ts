import type { Consumer, Message } from 'sluice/messaging';
import { injectContext } from 'sluice/observe';
import { type OrderEvent, type OrderMessage, openBroker, upstream } from '../shared/env.js';
import { serve } from '../shared/service.js';
import { charge, PaymentDeclinedError, paymentBreaker } from './payment-client.js';

const paymentUrl = upstream('payment');
const ordersUrl = upstream('orders');
const broker = await openBroker();
const events = broker.topic<OrderEvent>('order-events');
/** Deliveries of one order; with the backoff below, about 16 minutes of a payment outage. */
const maxAttempts = Number(process.env.FULFILLMENT_MAX_ATTEMPTS ?? 100);

async function markOrder(id: string, status: string, signal: AbortSignal): Promise<void> {
  const res = await fetch(new URL(`/api/orders/${id}/status`, ordersUrl), {
    method: 'PUT',
    headers: injectContext({ 'content-type': 'application/json' }),
    body: JSON.stringify({ status }),
    signal,
  });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`orders answered ${res.status} marking ${id} ${status}`);
}

async function fulfil(message: Message<OrderMessage>, signal: AbortSignal): Promise<void> {
  const order = message.payload;
  let type: OrderEvent['type'] = 'order.fulfilled';
  try {
    await charge(paymentUrl, order.id, order.total, signal);
  } catch (error) {
    // A decline is final. An unavailable payment is retried with the whole order, until its
    // last delivery: then the order fails rather than wait, pending, among dead letters.
    const lastAttempt = message.attempt >= maxAttempts;
    if (!(error instanceof PaymentDeclinedError) && !lastAttempt) throw error;
    if (lastAttempt) logger.warn({ orderId: order.id, err: error }, 'payment never answered');
    type = 'order.payment_failed';
  }
  const event: OrderEvent = { type, orderId: order.id, items: order.items, total: order.total };
  // The event id is derived from the order, so a redelivered order publishes no second event.
  await events.publish(event, { id: `${order.id}:${type}`, key: order.id, signal });
  await markOrder(order.id, type === 'order.fulfilled' ? 'fulfilled' : 'payment_failed', signal);
  logger.info({ orderId: order.id, type }, 'order handled');
}

let consumer: Consumer | undefined;
const { logger } = serve({
  name: 'fulfillment',
  route: async () => false,
  onStop: async () => {
    await consumer?.stop({ drainTimeout: 5_000 });
    await broker.close();
  },
});
paymentBreaker.onStateChange((e) =>
  logger.warn({ from: e.from, to: e.to, reason: e.reason }, 'payment breaker'),
);

// While the breaker is open the order goes back to the queue with a delay: it waits for
// payment to recover instead of being dead-lettered or hammering payment.
consumer = broker
  .queue<OrderMessage>('orders')
  .consume((message, { signal }) => fulfil(message, signal), {
    prefetch: 16,
    concurrency: 4,
    maxAttempts,
    retry: { initialDelay: 500, maxDelay: 10_000 },
    // Renewed while an order is handled, so short: a killed worker's orders come back soon.
    leaseTimeout: 5_000,
  });
