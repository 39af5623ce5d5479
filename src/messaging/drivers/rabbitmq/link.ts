import type { Channel, ChannelModel, ConfirmChannel } from 'amqplib';
import { ClosedError, EngineUnavailableError } from '../../../core/errors.js';
import { loadOptional } from '../../../core/optional.js';
import { connectionMetrics, declareConnection } from '../metrics.js';
import { engineUnreachable } from '../unreachable.js';
import type { ResolvedRabbitOptions } from './options.js';

type Amqp = typeof import('amqplib');

async function loadAmqp(): Promise<Amqp> {
  const loaded = (await loadOptional(
    'amqplib',
    'the rabbitmq messaging driver',
    () => import('amqplib'),
  )) as Amqp & { default?: Amqp };
  return loaded.default ?? loaded;
}

/**
 * One AMQP connection that comes back by itself: when it drops, operations fail fast with
 * SLUICE_ENGINE_UNAVAILABLE while it reconnects with backoff, and `onUp` listeners re-declare
 * topology and re-subscribe consumers before work resumes.
 */
export class Link {
  readonly #amqp: Amqp;
  readonly #url: string;
  readonly #options: ResolvedRabbitOptions;
  readonly #label: { driver: string; connection: string };
  readonly #upListeners = new Set<() => Promise<void> | void>();
  readonly #downListeners = new Set<() => void>();
  #model: ChannelModel | undefined;
  #closed = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #shared = new Map<string, Promise<Channel>>();
  /** The shared channels of `#shared` that are open, by role. */
  #opened = new Map<string, Channel>();
  #restoring: Promise<void> | undefined;

  private constructor(amqp: Amqp, url: string, options: ResolvedRabbitOptions) {
    this.#amqp = amqp;
    this.#url = url;
    this.#options = options;
    this.#label = { driver: 'rabbitmq', connection: options.connectionName };
    declareConnection(this.#label);
  }

  static async open(url: string, options: ResolvedRabbitOptions): Promise<Link> {
    const link = new Link(await loadAmqp(), url, options);
    try {
      await link.#connect();
    } catch (error) {
      throw engineUnreachable('RabbitMQ', url, error);
    }
    return link;
  }

  get up(): boolean {
    return this.#model !== undefined;
  }

  /**
   * Pending while a new connection is up but its `onUp` listeners still re-declare topology:
   * a publish made then would find a queue deleted behind the driver still missing.
   */
  get restoring(): Promise<void> | undefined {
    return this.#restoring;
  }

  onUp(listener: () => Promise<void> | void): () => void {
    this.#upListeners.add(listener);
    return () => this.#upListeners.delete(listener);
  }

  onDown(listener: () => void): () => void {
    this.#downListeners.add(listener);
    return () => this.#downListeners.delete(listener);
  }

  /** A new channel of its own (for a consumer), on the current connection. */
  async channel(): Promise<Channel> {
    return this.#current().createChannel();
  }

  /**
   * A channel shared by one role (`ops`, `get`, `publish`), re-created after it closes:
   * a channel error (404, 406) closes only that channel.
   */
  shared(role: 'ops' | 'get'): Promise<Channel>;
  shared(role: 'publish'): Promise<ConfirmChannel>;
  shared(role: string): Promise<Channel> {
    let channel = this.#shared.get(role);
    if (channel === undefined) {
      const model = this.#current();
      const opened = this.#opened;
      channel = (role === 'publish' ? model.createConfirmChannel() : model.createChannel()).then(
        (ch) => {
          ch.on('error', () => {});
          ch.on('close', () => {
            if (this.#shared.get(role) === channel) this.#shared.delete(role);
            if (opened.get(role) === ch) opened.delete(role);
          });
          if (this.#shared.get(role) === channel) opened.set(role, ch);
          return ch;
        },
      );
      channel.catch(() => {
        if (this.#shared.get(role) === channel) this.#shared.delete(role);
      });
      this.#shared.set(role, channel);
    }
    return channel;
  }

  /** The shared publish channel when it is open already: a publish needs no await for it. */
  openPublishChannel(): ConfirmChannel | undefined {
    return this.#opened.get('publish') as ConfirmChannel | undefined;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    const model = this.#model;
    this.#model = undefined;
    connectionMetrics.connected().set(this.#label, 0);
    await model?.close().catch(() => {});
  }

  #current(): ChannelModel {
    if (this.#closed) throw new ClosedError('the rabbitmq driver is closed');
    if (this.#model === undefined) {
      throw new EngineUnavailableError('the connection to RabbitMQ is down; reconnecting');
    }
    return this.#model;
  }

  async #connect(): Promise<void> {
    const model = await this.#amqp.connect(withHeartbeat(this.#url, this.#options.heartbeat), {
      clientProperties: { connection_name: this.#options.connectionName },
    });
    model.on('error', () => {});
    model.once('close', () => this.#lost(model));
    if (this.#closed) {
      await model.close().catch(() => {});
      return;
    }
    this.#model = model;
    this.#shared = new Map();
    this.#opened = new Map();
    connectionMetrics.connected().set(this.#label, 1);
  }

  #lost(model: ChannelModel): void {
    if (this.#model !== model) return;
    this.#model = undefined;
    this.#shared = new Map();
    this.#opened = new Map();
    connectionMetrics.connected().set(this.#label, 0);
    for (const listener of this.#downListeners) listener();
    if (!this.#closed) this.#schedule(this.#options.reconnectDelayMs);
  }

  #schedule(delayMs: number): void {
    this.#retryTimer = setTimeout(() => {
      const restoring = this.#reconnect(delayMs);
      this.#restoring = restoring;
      void restoring.finally(() => {
        if (this.#restoring === restoring) this.#restoring = undefined;
      });
    }, delayMs);
    this.#retryTimer.unref();
  }

  async #reconnect(delayMs: number): Promise<void> {
    try {
      await this.#connect();
    } catch {
      this.#schedule(Math.min(delayMs * 2, this.#options.reconnectMaxDelayMs));
      return;
    }
    if (this.#model === undefined) return;
    connectionMetrics.reconnects().inc(this.#label);
    for (const listener of this.#upListeners) {
      try {
        await listener();
      } catch {
        // The listener retries on its next use; a failing one must not block the others.
      }
    }
  }
}

/** amqplib reads the heartbeat from the URL; one the user put there wins. */
function withHeartbeat(url: string, seconds: number): string {
  if (/[?&]heartbeat=/.test(url)) return url;
  return `${url}${url.includes('?') ? '&' : '?'}heartbeat=${seconds}`;
}
