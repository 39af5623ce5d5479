import { createServer, type Server } from 'node:http';
import { chain } from '../../gateway/types.js';
import type { MeshMetrics } from './metrics.js';
import { serve } from './serve.js';
import { hopTracing } from './tracing.js';
import type { MeshUpstream } from './upstream.js';

export interface Outbound {
  server: Server;
  active: () => number;
}

/**
 * The loopback listener the app calls one upstream at (`PAYMENT_URL`): plain HTTP, bound
 * to loopback only, every request sent on to the upstream through its policies.
 */
export function createOutbound(
  upstream: MeshUpstream,
  metrics: MeshMetrics,
  draining: () => boolean,
): Outbound {
  const server = createServer({ keepAliveTimeout: 30_000 });
  const handler = chain([hopTracing('outbound', upstream.name)], upstream.call);
  const served = serve(server, upstream.name, handler, {
    draining,
    done: ({ status, seconds }) =>
      metrics.request('outbound', upstream.name, '-', upstream.name, status, seconds),
  });
  return { server, active: served.active };
}
