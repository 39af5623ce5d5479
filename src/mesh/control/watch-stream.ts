const MIN_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 10_000;
/** Three keepalives missed: the connection is dead even if the socket says nothing. */
const IDLE_MS = 45_000;

export interface WatchStreamOptions {
  url: string;
  /** Read before each (re)connect, so a renewed token is used. */
  token: () => string;
  onEvent: (event: string, data: unknown) => void;
  /** Told when a connection fails or ends; the stream reconnects by itself. */
  onDisconnect?: (error: unknown) => void;
}

/**
 * A Server-Sent Events subscription that stays up: it reconnects with capped exponential
 * backoff and jitter after any failure, and treats a silent connection as dead.
 */
export class WatchStream {
  readonly #o: WatchStreamOptions;
  #abort: AbortController | undefined;
  #backoff = MIN_BACKOFF_MS;
  #retry: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: WatchStreamOptions) {
    this.#o = options;
    void this.#connect();
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#abort?.abort();
  }

  async #connect(): Promise<void> {
    const abort = new AbortController();
    this.#abort = abort;
    let idle: NodeJS.Timeout | undefined;
    const alive = () => {
      clearTimeout(idle);
      idle = setTimeout(() => abort.abort(), IDLE_MS).unref();
    };
    try {
      alive();
      const response = await fetch(this.#o.url, {
        headers: { accept: 'text/event-stream', authorization: `Bearer ${this.#o.token()}` },
        signal: abort.signal,
      });
      if (!response.ok || response.body === null) {
        await response.body?.cancel().catch(() => {});
        throw new Error(`the watch answered HTTP ${response.status}`);
      }
      const decoder = new TextDecoder();
      let buffer = '';
      for await (const chunk of response.body) {
        alive();
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end = buffer.indexOf('\n\n');
        while (end !== -1) {
          this.#dispatch(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf('\n\n');
        }
      }
      throw new Error('the watch stream ended');
    } catch (error) {
      if (!this.#closed) this.#o.onDisconnect?.(error);
    } finally {
      clearTimeout(idle);
    }
    this.#reconnect();
  }

  #dispatch(block: string): void {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
    }
    if (data.length === 0) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(data.join('\n'));
    } catch {
      return;
    }
    this.#backoff = MIN_BACKOFF_MS;
    this.#o.onEvent(event, parsed);
  }

  #reconnect(): void {
    if (this.#closed) return;
    const delay = this.#backoff * (0.5 + Math.random() / 2);
    this.#backoff = Math.min(this.#backoff * 2, MAX_BACKOFF_MS);
    this.#retry = setTimeout(() => void this.#connect(), delay).unref();
  }
}
