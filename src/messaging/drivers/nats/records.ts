import type { MsgHdrs } from '@nats-io/transport-node';
import type { OutgoingRecord, StreamRecord } from '../../driver.js';

export const metaHeader = 'Sluice-Meta';

/** What travels in the meta header: JSON, so ids, keys and header names need no escaping. */
export interface Meta {
  readonly id: string;
  readonly key?: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  /** Set when a message is stored again (a replayed dead letter keeps its first time). */
  readonly publishedAt?: number | undefined;
  /** Set on a replayed topic event: only this group takes it. */
  readonly group?: string | undefined;
}

export function metaOf(record: StreamRecord | OutgoingRecord, extra: Partial<Meta> = {}): Meta {
  return { id: record.id, key: record.key, headers: record.headers, ...extra };
}

export function writeMeta(h: MsgHdrs, meta: Meta): void {
  h.set(metaHeader, JSON.stringify(meta));
}

export function readMeta(h: MsgHdrs | undefined, fallbackId: string): Meta {
  const raw = h?.get(metaHeader);
  if (raw === undefined || raw === '') return { id: fallbackId, headers: {} };
  const parsed = JSON.parse(raw) as Meta;
  return { ...parsed, headers: parsed.headers ?? {} };
}

/** A `Nats-Msg-Id` value: the id itself unless it holds characters a header cannot carry. */
export function msgId(id: string): string {
  return /[\r\n]/.test(id) ? `b64:${Buffer.from(id).toString('base64url')}` : id;
}

const decoder = new TextDecoder();
export const text = (data: Uint8Array): string => decoder.decode(data);
