import type { Registry } from 'prom-client';
import { collectProcessMetrics, metricsHandler, metricsRegistry } from '../observe/index.js';
import { HttpListener } from './http-listener.js';

export interface MetricsServerOptions {
  host: string;
  port: number;
  path?: string | undefined;
  registry?: Registry | undefined;
}

/**
 * Serves the supervisor's registry (restarts, ready instances) at `/metrics`, with the
 * standard process metrics every Sluice process exports (`process_*`, `nodejs_*`).
 */
export class MetricsServer extends HttpListener {
  readonly #path: string;

  constructor(options: MetricsServerOptions) {
    const path = options.path ?? '/metrics';
    const registry = options.registry ?? metricsRegistry();
    collectProcessMetrics(registry);
    const handle = metricsHandler(registry);
    super({
      name: 'metrics',
      host: options.host,
      port: options.port,
      handler: (req, res) => {
        if (new URL(req.url ?? '/', 'http://x').pathname === path) return void handle(req, res);
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not Found\n');
      },
    });
    this.#path = path;
  }

  get url(): string | undefined {
    const origin = this.origin;
    return origin === undefined ? undefined : `${origin}${this.#path}`;
  }
}
