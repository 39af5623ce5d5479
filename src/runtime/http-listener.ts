import { createServer, type RequestListener, type Server } from 'node:http';
import type { Component } from '../core/index.js';
import { listen } from './ports.js';

export interface HttpListenerOptions {
  name: string;
  host: string;
  /** 0 takes any free port. */
  port: number;
  handler: RequestListener;
}

/** An HTTP server as a lifecycle component: listens on start, cuts every connection on stop. */
export class HttpListener implements Component {
  readonly name: string;
  readonly #o: HttpListenerOptions;
  #server: Server | undefined;
  #port: number | undefined;

  constructor(options: HttpListenerOptions) {
    this.#o = options;
    this.name = options.name;
  }

  /** `http://host:port`, once listening. */
  get origin(): string | undefined {
    return this.#port === undefined ? undefined : `http://${this.#o.host}:${this.#port}`;
  }

  async start(): Promise<void> {
    const server = createServer(this.#o.handler);
    this.#server = server;
    this.#port = await listen(server, this.#o.port, this.#o.host);
  }

  stop(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return Promise.resolve();
    server.closeAllConnections();
    return new Promise((resolve) => server.close(() => resolve()));
  }
}
