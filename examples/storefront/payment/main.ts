import { setTimeout as sleep } from 'node:timers/promises';
import { dataFile } from '../shared/env.js';
import { readJson, sendJson, serve } from '../shared/service.js';
import { openCharges } from './charges.js';

/**
 * What fault injection changes at run time: `POST /fault {latencyMs, errorRate, declineRate}`.
 * An error (503) is worth retrying; a decline (402) is payment's final answer.
 */
const fault = { latencyMs: 0, errorRate: 0, declineRate: 0 };
const charges = openCharges(dataFile('payment.db'));

function number(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : fallback;
}

const { logger } = serve({
  name: 'payment',
  route: async (req, res, url) => {
    if (url.pathname === '/fault' && req.method === 'POST') {
      const body = (await readJson(req)) as Partial<Record<keyof typeof fault, unknown>>;
      fault.latencyMs = number(body.latencyMs, fault.latencyMs);
      fault.errorRate = Math.min(1, number(body.errorRate, fault.errorRate));
      fault.declineRate = Math.min(1, number(body.declineRate, fault.declineRate));
      logger.warn(fault, 'fault changed');
      sendJson(res, 200, fault);
      return '/fault';
    }
    if (url.pathname === '/fault' && req.method === 'GET') {
      sendJson(res, 200, fault);
      return '/fault';
    }
    const chargeOf = /^\/charges\/([\w-]+)$/.exec(url.pathname);
    if (chargeOf !== null && req.method === 'GET') {
      const charge = charges.get(chargeOf[1]!);
      if (charge === undefined) sendJson(res, 404, { title: 'no charge for this order' });
      else sendJson(res, 200, charge);
      return '/charges/:orderId';
    }
    if (url.pathname === '/charges' && req.method === 'POST') {
      const body = (await readJson(req)) as { orderId?: unknown; amount?: unknown };
      if (typeof body.orderId !== 'string') {
        sendJson(res, 400, { title: 'orderId is required' });
        return '/charges';
      }
      if (fault.latencyMs > 0) await sleep(fault.latencyMs);
      if (Math.random() < fault.errorRate) {
        sendJson(res, 503, { title: 'payment failed (injected)' });
        return '/charges';
      }
      // A charge already made stands; only a new one may be declined.
      if (charges.get(body.orderId) === undefined && Math.random() < fault.declineRate) {
        sendJson(res, 402, { title: 'payment declined (injected)' });
        return '/charges';
      }
      // Keyed by order: a retried charge is not a second charge.
      sendJson(res, 201, charges.charge(body.orderId, number(body.amount, 0)));
      return '/charges';
    }
    return false;
  },
  onStop: () => charges.close(),
});
