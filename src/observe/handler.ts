import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { metricsRegistry } from './registry.js';

export type MetricsHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/**
 * A node:http handler that serves the registry in the Prometheus text format, for GET and
 * HEAD. Mount it at `/metrics`; it does not look at the path. The returned promise never
 * rejects: a failing collector becomes a 500.
 */
export function metricsHandler(registry: Registry = metricsRegistry()): MetricsHandler {
  return async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      res.end('Method Not Allowed\n');
      return;
    }
    let body: string;
    try {
      body = await registry.metrics();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`Collecting metrics failed: ${message}\n`);
      return;
    }
    res.writeHead(200, {
      'content-type': registry.contentType,
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}
