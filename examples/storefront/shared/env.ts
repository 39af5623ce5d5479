import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type Broker, connect } from 'sluice/messaging';

/** Where services keep their own SQLite files: `SLUICE_DATA`, default `./data`. */
export function dataFile(name: string): string {
  const dir = process.env.SLUICE_DATA ?? './data';
  mkdirSync(dir, { recursive: true });
  return join(dir, name);
}

export function upstream(name: string): string {
  const url = process.env[`${name.toUpperCase()}_URL`];
  if (url === undefined || url === '') throw new Error(`${name.toUpperCase()}_URL is not set`);
  return url;
}

/**
 * The engine the supervisor's file declares; embedded SQLite when run alone.
 * `SLUICE_MESSAGING_PREFIX` (the file's `messaging.prefix`) names this storefront's queues
 * and topics apart from others on the same engine (the NATS, Redis and RabbitMQ prefix;
 * the PostgreSQL schema).
 */
export function openBroker(): Promise<Broker> {
  const driver = process.env.SLUICE_MESSAGING_DRIVER ?? 'sqlite';
  if (driver === 'memory') return connect({ driver: 'memory' });
  const url = process.env.SLUICE_MESSAGING_URL ?? dataFile('sluice.db');
  const prefix = process.env.SLUICE_MESSAGING_PREFIX || undefined;
  if (driver === 'sqlite') {
    mkdirSync(dirname(url), { recursive: true });
    return connect({ driver: 'sqlite', url });
  }
  if (driver === 'postgres') return connect({ driver, url, schema: prefix });
  if (driver === 'nats' || driver === 'redis' || driver === 'rabbitmq')
    return connect({ driver, url, prefix });
  throw new Error(`unknown messaging driver ${driver}`);
}

export interface OrderEvent {
  type: 'order.fulfilled' | 'order.payment_failed';
  orderId: string;
  items: { sku: string; qty: number }[];
  total: number;
}

export interface OrderMessage {
  id: string;
  items: { sku: string; qty: number }[];
  total: number;
}
