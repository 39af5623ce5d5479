import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { EngineUnavailableError } from '../../../core/errors.js';
import { loadOptional } from '../../../core/optional.js';

const purpose = 'the nats messaging driver';

import { connectionMetrics, declareConnection } from '../metrics.js';
import { engineUnreachable } from '../unreachable.js';
import type { ResolvedNatsOptions } from './options.js';
import type { Puller } from './pull.js';

/** What the dead-letter and log stores use of a connection: its clients, puller and limits. */
export interface JetStreamAccess {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly puller: Puller;
  readonly timeoutMs: number;
  /** The server's limit on headers plus body (read again after a reconnect). */
  readonly maxPayload: () => number;
}

export interface NatsClients {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  /** False from a disconnect until the reconnect. */
  readonly up: () => boolean;
  /** Called with false on each disconnect and true on each reconnect. */
  readonly watch: (listener: (up: boolean) => void) => void;
}

/** Loads the optional client packages, connects, and keeps connection metrics current. */
export async function openConnection(
  url: string,
  options: ResolvedNatsOptions,
): Promise<NatsClients> {
  const transport = await loadOptional(
    '@nats-io/transport-node',
    purpose,
    () => import('@nats-io/transport-node'),
  );
  const jetstreamPackage = await loadOptional(
    '@nats-io/jetstream',
    purpose,
    () => import('@nats-io/jetstream'),
  );
  let nc: NatsConnection;
  try {
    nc = await transport.connect({
      servers: url,
      name: options.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: options.reconnectTimeWaitMs,
      reconnectJitter: Math.floor(options.reconnectTimeWaitMs / 4),
      timeout: options.timeoutMs,
      // Otherwise every request (each publish's PubAck) makes an Error up front, stack
      // trace and all, only in case it times out: a sixth of the publish path's CPU.
      noAsyncTraces: true,
    });
  } catch (error) {
    throw engineUnreachable('NATS', url, error);
  }
  const label = { driver: 'nats', connection: options.name };
  const connectionUp = connectionMetrics.connected();
  declareConnection(label);
  let up = true;
  const listeners: ((up: boolean) => void)[] = [];
  connectionUp.set(label, 1);
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') {
        up = false;
        connectionUp.set(label, 0);
        for (const l of listeners) l(false);
      } else if (status.type === 'reconnect') {
        up = true;
        connectionUp.set(label, 1);
        connectionMetrics.reconnects().inc(label);
        for (const l of listeners) l(true);
      }
    }
  })();
  void nc.closed().then(() => connectionUp.set(label, 0));
  const js = jetstreamPackage.jetstream(nc, { timeout: options.timeoutMs });
  const jsm = await jetstreamPackage
    .jetstreamManager(nc, { timeout: options.timeoutMs })
    .catch(async (error: unknown) => {
      await nc.close();
      throw new EngineUnavailableError(
        `JetStream is not available at ${url} (is the server started with -js?)`,
        {
          cause: error,
        },
      );
    });
  return { nc, js, jsm, up: () => up, watch: (l) => listeners.push(l) };
}
