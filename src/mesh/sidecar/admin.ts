import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import { metricsHandler } from '../../observe/handler.js';

export interface AdminState {
  /** An identity is held and every listener is up. */
  ready: () => boolean;
  /** The process is serving (false once it is stopping). */
  live: () => boolean;
}

/** `/ready`, `/healthz` and `/metrics` on the sidecar's admin port. */
export function createAdmin(state: AdminState, registry: Registry): Server {
  const metrics = metricsHandler(registry);
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path === '/metrics') {
      void metrics(req, res);
      return;
    }
    const ok = path === '/ready' ? state.ready() : path === '/healthz' ? state.live() : undefined;
    if (ok === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('Not Found\n');
      return;
    }
    res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(ok ? 'ok\n' : 'not ready\n');
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  return server;
}
