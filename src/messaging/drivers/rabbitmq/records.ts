import type { Options } from 'amqplib';
import type { DeadLetterRecord, OutgoingRecord } from '../../driver.js';

/** Headers the driver keeps for itself; user headers with this prefix are not carried. */
const own = 'x-sluice-';
/** Headers the broker adds when it dead-letters or redelivers a message. */
const brokerHeader = /^x-(death|delivery-count|(first|last)-death-)/;
export const h = {
  key: `${own}key`,
  publishedAt: `${own}published-at`,
  /** Attempts counted before this copy of the message was stored (retries republish). */
  attempts: `${own}attempts`,
  error: `${own}error`,
  failedAt: `${own}failed-at`,
} as const;

/** What a record needs to be stored again: a retry, a release or a replay. */
export interface StoredMessage {
  readonly id: string;
  readonly key: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly publishedAt: number;
}

export interface Incoming {
  readonly content: Buffer;
  readonly properties: { readonly messageId?: unknown; readonly headers?: unknown };
}

/**
 * What a message is published with. The publish time rides in a header unless the id, a
 * UUIDv7 made within a millisecond of it, already tells it: most messages then carry no
 * header table at all, which RabbitMQ stores and amqplib encodes and decodes at a cost.
 */
export function publishOptions(
  message: StoredMessage,
  extra: Record<string, string | number> = {},
): Options.Publish {
  const headers: Record<string, string | number> = {};
  let any = false;
  for (const name in message.headers) {
    if (name.startsWith(own)) continue;
    headers[name] = message.headers[name]!;
    any = true;
  }
  if (message.key !== undefined) {
    headers[h.key] = message.key;
    any = true;
  }
  const idMs = uuidv7Millis(message.id);
  if (idMs === undefined || Math.abs(idMs - message.publishedAt) > 1) {
    headers[h.publishedAt] = message.publishedAt;
    any = true;
  }
  for (const name in extra) {
    headers[name] = extra[name]!;
    any = true;
  }
  const options: Options.Publish = { persistent: true, messageId: message.id };
  if (any) options.headers = headers;
  return options;
}

export function fromOutgoing(record: OutgoingRecord, now: number): StoredMessage {
  return {
    id: record.id,
    key: record.key,
    headers: record.headers,
    body: record.body,
    publishedAt: now,
  };
}

function table(message: Incoming): Record<string, unknown> {
  const headers = message.properties.headers;
  return typeof headers === 'object' && headers !== null
    ? (headers as Record<string, unknown>)
    : {};
}

function num(value: unknown): number {
  const n = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(n) ? n : 0;
}

export function decode(message: Incoming): StoredMessage {
  const raw = table(message);
  const headers: Record<string, string> = {};
  for (const name in raw) {
    const value = raw[name];
    // Only names starting with "x" can be the driver's or the broker's own.
    if (
      typeof value === 'string' &&
      (name.charCodeAt(0) !== 120 || (!name.startsWith(own) && !brokerHeader.test(name)))
    ) {
      headers[name] = value;
    }
  }
  const key = raw[h.key];
  const id = String(message.properties.messageId ?? '');
  const at = raw[h.publishedAt];
  return {
    id,
    key: typeof key === 'string' ? key : undefined,
    headers,
    body: message.content.toString('utf8'),
    publishedAt: at !== undefined ? num(at) : (uuidv7Millis(id) ?? 0),
  };
}

/** 1 on first delivery: attempts before this copy plus the quorum queue's returns of it. */
export function attemptOf(message: Incoming): number {
  const raw = table(message);
  return num(raw[h.attempts]) + num(raw['x-delivery-count']) + 1;
}

export function deadLetterOf(message: Incoming): DeadLetterRecord {
  const raw = table(message);
  const stored = decode(message);
  return {
    ...stored,
    attempt: num(raw[h.attempts]),
    failedAt: num(raw[h.failedAt]),
    error:
      typeof raw[h.error] === 'string' ? (raw[h.error] as string) : 'dead-lettered by the broker',
  };
}

/** The ms timestamp a UUIDv7 id starts with; undefined for any other id. */
function uuidv7Millis(id: string): number | undefined {
  // "xxxxxxxx-xxxx-7...": checked by hand, as this runs twice per message.
  if (id.length !== 36 || id[8] !== '-' || id[13] !== '-' || id[14] !== '7') return undefined;
  const ms = Number(`0x${id.slice(0, 8)}${id.slice(9, 13)}`);
  return Number.isNaN(ms) ? undefined : ms;
}
