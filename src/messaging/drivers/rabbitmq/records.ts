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

export function publishOptions(
  message: StoredMessage,
  extra: Record<string, string | number> = {},
): Options.Publish {
  const headers: Record<string, string | number> = {};
  for (const [name, value] of Object.entries(message.headers)) {
    if (!name.startsWith(own)) headers[name] = value;
  }
  if (message.key !== undefined) headers[h.key] = message.key;
  headers[h.publishedAt] = message.publishedAt;
  Object.assign(headers, extra);
  return { persistent: true, messageId: message.id, headers };
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
  for (const [name, value] of Object.entries(raw)) {
    if (typeof value === 'string' && !name.startsWith(own) && !brokerHeader.test(name)) {
      headers[name] = value;
    }
  }
  const key = raw[h.key];
  return {
    id: String(message.properties.messageId ?? ''),
    key: typeof key === 'string' ? key : undefined,
    headers,
    body: message.content.toString('utf8'),
    publishedAt: num(raw[h.publishedAt]),
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
