import { setTimeout as sleep } from 'node:timers/promises';
import { parseJson, retryAfterMs, type Target } from './http.js';
import type { UserTokens } from './tokens.js';
import type { PlacedOrder } from './traffic.js';

const pollers = 8;
const pauseBetweenRoundsMs = 250;

/**
 * Polls `GET /api/orders/:id` for every order still pending until each has a final status
 * or `settleMs` has passed, and not longer: a request under way is abandoned at the
 * deadline. The gateway's per-user limit applies here too: a 429 pauses every poller for
 * its Retry-After (up to the deadline).
 */
export async function settleOrders(
  target: Target,
  tokens: UserTokens,
  orders: Iterable<PlacedOrder>,
  settleMs: number,
): Promise<void> {
  const deadline = Date.now() + settleMs;
  const signal = AbortSignal.timeout(settleMs);
  let pausedUntil = 0;
  const poll = async (order: PlacedOrder): Promise<void> => {
    const wait = Math.min(pausedUntil, deadline) - Date.now();
    if (wait > 0) await sleep(wait);
    if (Date.now() >= deadline) return;
    const token = tokens.token(order.user);
    const headers: Record<string, string> =
      token === undefined ? {} : { authorization: `Bearer ${token}` };
    const answer = await target
      .send('GET', `/api/orders/${order.id}`, { headers, signal })
      .catch(() => undefined);
    if (answer?.status === 429) pausedUntil = Date.now() + (retryAfterMs(answer) ?? 1000);
    if (answer?.status === 401) tokens.renew(order.user);
    const status = answer?.status === 200 ? parseJson<PlacedOrder>(answer)?.status : undefined;
    if (typeof status === 'string') order.status = status;
  };

  let pending = [...orders].filter((o) => o.status === 'pending');
  while (pending.length > 0 && Date.now() < deadline) {
    const queue = [...pending];
    const worker = async (): Promise<void> => {
      for (let order = queue.shift(); order !== undefined; order = queue.shift()) {
        if (Date.now() >= deadline) return;
        await poll(order);
      }
    };
    await Promise.all(Array.from({ length: pollers }, worker));
    pending = pending.filter((o) => o.status === 'pending');
    const pause = Math.min(pauseBetweenRoundsMs, deadline - Date.now());
    if (pending.length > 0 && pause > 0) await sleep(pause);
  }
}
