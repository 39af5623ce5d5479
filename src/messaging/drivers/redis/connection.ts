import type { Redis, RedisOptions } from 'ioredis';
import { EngineUnavailableError } from '../../../core/errors.js';
import { loadOptional } from '../../../core/optional.js';
import { connectionMetrics, declareConnection } from '../metrics.js';

export type ConnectionRole = 'command' | 'subscriber';

async function loadIoredis() {
  const module = await loadOptional(
    'ioredis',
    'the redis messaging driver',
    () => import('ioredis'),
  );
  return module.Redis;
}

/** Tracks a connection's state and reconnects in metrics. */
export class Tracked {
  #ready = false;
  #everReady = false;
  #reconnects = 0;
  #nextReady: Promise<void> | undefined;

  constructor(
    readonly client: Redis,
    readonly role: ConnectionRole,
    onReconnect: () => void = () => {},
  ) {
    const label = { driver: 'redis', connection: role };
    declareConnection(label);
    client.on('ready', () => {
      this.#ready = true;
      connectionMetrics.connected().inc(label);
      if (this.#everReady) {
        this.#reconnects++;
        connectionMetrics.reconnects().inc(label);
        onReconnect();
      }
      this.#everReady = true;
    });
    client.on('close', () => {
      if (this.#ready) connectionMetrics.connected().dec(label);
      this.#ready = false;
    });
    // Errors surface through the commands that fail; an unhandled 'error' would crash.
    client.on('error', () => {});
  }

  get ready(): boolean {
    return this.#ready;
  }

  get reconnects(): number {
    return this.#reconnects;
  }

  /**
   * Resolves once the connection is ready (after the reconnect listener ran), or rejects when
   * the next connection attempt fails first: as an offline queue with one retry would, but
   * letting the listener run before anything else is sent.
   */
  whenReady(): Promise<void> {
    if (this.#ready) return Promise.resolve();
    if (this.client.status === 'end') {
      // Its retry strategy gave up: no attempt is coming.
      return Promise.reject(new EngineUnavailableError('the connection to Redis was given up'));
    }
    this.#nextReady ??= new Promise<void>((resolve, reject) => {
      const settle = (error?: Error) => {
        this.client.off('ready', onReady);
        this.client.off('close', onClose);
        this.#nextReady = undefined;
        if (error === undefined) resolve();
        else reject(error);
      };
      const onReady = () => settle();
      const onClose = () =>
        settle(new EngineUnavailableError('the connection to Redis is down; reconnecting'));
      this.client.on('ready', onReady);
      this.client.on('close', onClose);
    });
    return this.#nextReady;
  }
}

/**
 * The command connection fails in-flight and queued commands as soon as it is lost
 * (maxRetriesPerRequest 0) and never re-sends them, so a publish during an outage rejects
 * instead of hanging or being stored twice; the caller may retry it with the same id.
 */
export async function openConnections(
  url: string,
  options: RedisOptions,
  name: string,
): Promise<{ command: Redis; subscriber: Redis }> {
  const Redis = await loadIoredis();
  const command = new Redis(url, {
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    ...options,
    lazyConnect: true,
    connectionName: `${name}-cmd`,
  });
  const subscriber = new Redis(url, {
    maxRetriesPerRequest: null,
    ...options,
    lazyConnect: true,
    connectionName: `${name}-sub`,
  });
  return { command, subscriber };
}
