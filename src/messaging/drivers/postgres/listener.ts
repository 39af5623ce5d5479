import type { Client, ClientConfig } from 'pg';
import type { PgModule } from './load-pg.js';
import { countReconnect, setConnected } from './metrics.js';

const minBackoffMs = 50;
const maxBackoffMs = 2000;

/**
 * One dedicated connection that LISTENs on the schema's channel and fans notifications out
 * by payload (a source or stream name). When the connection drops it reconnects with
 * backoff and then wakes every listener, since notifications sent meanwhile are lost.
 *
 * It LISTENs only while something in this process subscribes: a process that only
 * publishes would otherwise receive (and the server send it) one notification per
 * publish statement. Each time LISTEN takes effect every listener is woken, since a
 * publish committed before then was heard by no one here.
 */
export class NotifyListener {
  readonly #pg: PgModule;
  readonly #config: ClientConfig;
  readonly #channel: string;
  readonly #schema: string;
  readonly #listeners = new Map<string, Set<() => void>>();
  #client: Client | undefined;
  #closed = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #backoff = minBackoffMs;
  #connected = false;
  /** Whether #client is listening. */
  #listening = false;
  /** A LISTEN or UNLISTEN is on its way (see #sync). */
  #syncing = false;

  constructor(pg: PgModule, config: ClientConfig, channel: string, schema: string) {
    this.#pg = pg;
    this.#config = config;
    this.#channel = channel;
    this.#schema = schema;
  }

  get connected(): boolean {
    return this.#connected;
  }

  /** Connects once; the first failure is thrown, later ones are retried in the background. */
  async start(): Promise<void> {
    await this.#connect();
  }

  subscribe(name: string, listener: () => void): () => void {
    let set = this.#listeners.get(name);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(name, set);
    }
    set.add(listener);
    this.#sync();
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.#listeners.get(name) === set) this.#listeners.delete(name);
      this.#sync();
    };
  }

  /** Calls the listeners of `name` in this process at once (a local publish). */
  wake(name: string): void {
    for (const listener of [...(this.#listeners.get(name) ?? [])]) listener();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#listeners.clear();
    const client = this.#client;
    this.#client = undefined;
    this.#setConnected(false);
    await client?.end().catch(() => {});
  }

  async #connect(): Promise<void> {
    const client = new this.#pg.Client(this.#config);
    client.on('error', () => this.#lost(client));
    client.on('end', () => this.#lost(client));
    client.on('notification', (n) => {
      if (n.channel === this.#channel && n.payload !== undefined) this.wake(n.payload);
    });
    const listen = this.#listeners.size > 0;
    try {
      await client.connect();
      if (listen) await client.query(`LISTEN "${this.#channel}"`);
    } catch (error) {
      client.removeAllListeners('end');
      await client.end().catch(() => {});
      throw error;
    }
    if (this.#closed) {
      await client.end().catch(() => {});
      return;
    }
    this.#client = client;
    this.#listening = listen;
    this.#backoff = minBackoffMs;
    this.#setConnected(true);
    this.#sync();
  }

  /** Brings the connection to LISTEN while anything subscribes, and to UNLISTEN after. */
  #sync(): void {
    const client = this.#client;
    const listen = this.#listeners.size > 0;
    if (client === undefined || this.#syncing || listen === this.#listening) return;
    this.#syncing = true;
    client.query(`${listen ? 'LISTEN' : 'UNLISTEN'} "${this.#channel}"`).then(
      () => {
        this.#syncing = false;
        // Unless the connection was replaced meanwhile (the new one listens as it connects).
        if (this.#client === client) {
          this.#listening = listen;
          if (listen) this.#wakeAll();
        }
        this.#sync();
      },
      () => {
        this.#syncing = false;
        this.#lost(client);
        this.#sync();
      },
    );
  }

  #wakeAll(): void {
    for (const name of [...this.#listeners.keys()]) this.wake(name);
  }

  #lost(client: Client): void {
    if (this.#client !== client || this.#closed) return;
    this.#client = undefined;
    this.#listening = false;
    this.#setConnected(false);
    client.removeAllListeners('end');
    client.end().catch(() => {});
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#closed) return;
    const wait = this.#backoff;
    this.#backoff = Math.min(this.#backoff * 2, maxBackoffMs);
    this.#retryTimer = setTimeout(() => {
      this.#connect().then(
        () => {
          if (this.#closed) return;
          countReconnect(this.#schema, 'listener');
          this.#wakeAll();
        },
        () => this.#scheduleReconnect(),
      );
    }, wait);
    this.#retryTimer.unref();
  }

  #setConnected(up: boolean): void {
    this.#connected = up;
    setConnected(this.#schema, 'listener', up);
  }
}
