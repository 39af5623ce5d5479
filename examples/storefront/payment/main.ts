import { setTimeout as sleep } from 'node:timers/promises';
import { readJson, sendJson, serve } from '../shared/service.js';

/** What fault injection changes at run time: `POST /fault {latencyMs, errorRate}`. */
const fault = { latencyMs: 0, errorRate: 0 };
const charged = new Map<string, { orderId: string; amount: number }>();

function number(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : fallback;
}

const { logger } = serve({
  name: 'payment',
  route: async (req, res, url) => {
    if (url.pathname === '/fault' && req.method === 'POST') {
      const body = (await readJson(req)) as { latencyMs?: unknown; errorRate?: unknown };
      fault.latencyMs = number(body.latencyMs, fault.latencyMs);
      fault.errorRate = Math.min(1, number(body.errorRate, fault.errorRate));
      logger.warn(fault, 'fault changed');
      sendJson(res, 200, fault);
      return true;
    }
    if (url.pathname === '/fault' && req.method === 'GET') {
      sendJson(res, 200, fault);
      return true;
    }
    if (url.pathname === '/charges' && req.method === 'POST') {
      const body = (await readJson(req)) as { orderId?: unknown; amount?: unknown };
      if (typeof body.orderId !== 'string') {
        sendJson(res, 400, { title: 'orderId is required' });
        return true;
      }
      if (fault.latencyMs > 0) await sleep(fault.latencyMs);
      if (Math.random() < fault.errorRate) {
        sendJson(res, 503, { title: 'payment failed (injected)' });
        return true;
      }
      // Keyed by order: a retried charge is not a second charge.
      const charge = charged.get(body.orderId) ?? {
        orderId: body.orderId,
        amount: number(body.amount, 0),
      };
      charged.set(body.orderId, charge);
      sendJson(res, 201, charge);
      return true;
    }
    return false;
  },
});
