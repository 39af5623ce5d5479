import { connect, createServer, type Server, type Socket } from 'node:net';
import { listen } from './ports.js';

export interface Backend {
  readonly ready: boolean;
  readonly port: number;
}

/**
 * The one address callers use for a service with several instances: a loopback TCP proxy
 * that hands each new connection to the next ready instance in turn. Callers only ever see
 * this URL, so a sidecar can later take its place without any service noticing.
 */
export class RoundRobinProxy {
  readonly #host: string;
  readonly #backends: readonly Backend[];
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #next = 0;

  constructor(host: string, backends: readonly Backend[]) {
    this.#host = host;
    this.#backends = backends;
    this.#server = createServer((socket) => this.#accept(socket));
  }

  listen(): Promise<number> {
    return listen(this.#server, 0, this.#host);
  }

  close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #pick(): Backend | undefined {
    for (let i = 0; i < this.#backends.length; i++) {
      const backend = this.#backends[(this.#next + i) % this.#backends.length]!;
      if (backend.ready) {
        this.#next = (this.#next + i + 1) % this.#backends.length;
        return backend;
      }
    }
    return undefined;
  }

  #accept(client: Socket): void {
    const backend = this.#pick();
    if (backend === undefined) {
      client.destroy();
      return;
    }
    const upstream = connect(backend.port, this.#host);
    for (const socket of [client, upstream]) {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  }
}
