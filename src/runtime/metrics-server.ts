import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import type { Component } from '../core/index.js';
import { metricsHandler, metricsRegistry } from '../observe/index.js';

export interface MetricsServerOptions {
  host: string;
  port: number;
  path?: string;
  registry?: Registry;
}

/** Serves the supervisor's registry (restarts, ready instances) at `/metrics`. */
export class MetricsServer implements Component {
  readonly name = 'metrics';
  readonly #o: MetricsServerOptions;
  #server: Server | undefined;
  #port: number | undefined;

  constructor(options: MetricsServerOptions) {
    this.#o = options;
  }

  get url(): string | undefined {
    return this.#port === undefined
      ? undefined
      : `http://${this.#o.host}:${this.#port}${this.#o.path ?? '/metrics'}`;
  }

  start(): Promise<void> {
    const handle = metricsHandler(this.#o.registry ?? metricsRegistry());
    const path = this.#o.path ?? '/metrics';
    const server = createServer((req, res) => {
      if (new URL(req.url ?? '/', 'http://x').pathname === path) return void handle(req, res);
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not Found\n');
    });
    this.#server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#o.port, this.#o.host, () => {
        server.off('error', reject);
        const address = server.address();
        this.#port = typeof address === 'object' && address !== null ? address.port : undefined;
        resolve();
      });
    });
  }

  stop(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return Promise.resolve();
    server.closeAllConnections();
    return new Promise((resolve) => server.close(() => resolve()));
  }
}
