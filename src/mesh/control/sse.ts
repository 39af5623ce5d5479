import type { ServerResponse } from 'node:http';

const KEEPALIVE_MS = 15_000;

/**
 * One Server-Sent Events stream: named events with JSON data, and a comment every 15 s so
 * proxies keep it open and the client notices a dead control plane.
 */
export class EventStream {
  readonly #res: ServerResponse;
  readonly #keepalive: NodeJS.Timeout;
  #closed = false;

  constructor(res: ServerResponse, onClose: () => void) {
    this.#res = res;
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    });
    res.write(': sluice mesh watch\n\n');
    this.#keepalive = setInterval(() => this.#write(': keepalive\n\n'), KEEPALIVE_MS).unref();
    const close = () => {
      if (this.#closed) return;
      this.#closed = true;
      clearInterval(this.#keepalive);
      onClose();
    };
    res.on('close', close);
    res.on('error', close);
  }

  send(event: string, data: unknown): void {
    this.#write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  end(): void {
    this.#res.end();
  }

  #write(text: string): void {
    if (!this.#closed) this.#res.write(text);
  }
}
