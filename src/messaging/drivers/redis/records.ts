import type { DeadLetterRecord, Delivery, StreamEntryRecord } from '../../driver.js';

/** A stream entry's fields as Redis returns them: [name, value, name, value, ...]. */
export type Fields = readonly string[];

export function fieldMap(fields: Fields): Map<string, string> {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i]!, fields[i + 1]!);
  return map;
}

/**
 * A message's id and body in one field value, as plain publishes store them (field `m`):
 * the id's length, a colon, the id, then the body. One value to send, store and read
 * instead of two named ones. Entries of other publishes, and those stored before this
 * format, carry fields `i` (id) and `b` (body): every reader takes both.
 */
export function packMessage(id: string, body: string): string {
  return `${id.length}:${id}${body}`;
}

/** A message's fields: id and body (packed or apart), key, headers, publish time. */
interface MessageFields {
  id: string | undefined;
  body: string;
  key: string | undefined;
  headers: string | undefined;
  publishedAt: string | undefined;
}

function messageFields(fields: Fields): MessageFields {
  const out: MessageFields = {
    id: undefined,
    body: '',
    key: undefined,
    headers: undefined,
    publishedAt: undefined,
  };
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const value = fields[i + 1]!;
    switch (fields[i]) {
      case 'm':
        unpackMessage(value, out);
        break;
      case 'i':
        out.id = value;
        break;
      case 'b':
        out.body = value;
        break;
      case 'k':
        out.key = value;
        break;
      case 'h':
        out.headers = value;
        break;
      case 't':
        out.publishedAt = value;
        break;
    }
  }
  return out;
}

/** Sets id and body from a `packMessage` value; a value that is not one is all body. */
function unpackMessage(packed: string, out: MessageFields): void {
  const colon = packed.indexOf(':');
  const length = colon > 0 ? Number(packed.slice(0, colon)) : Number.NaN;
  const start = colon + 1;
  if (Number.isInteger(length) && length >= 0 && start + length <= packed.length) {
    out.id = packed.slice(start, start + length);
    out.body = packed.slice(start + length);
  } else {
    out.body = packed;
  }
}

/** The message id of a queue or dead-letter entry. */
export function messageId(fields: Fields): string {
  return messageFields(fields).id ?? '';
}

/**
 * A claimed stream entry as a delivery. The receipt carries the lease token, and the key so
 * that whoever finishes a key's head (ordered consumer or not) lets the next one through.
 */
export function toDelivery(
  entryId: string,
  token: number,
  attempt: number,
  fields: Fields,
): Delivery {
  const { id, key, headers, body, publishedAt } = messageFields(fields);
  return {
    receipt: key === undefined ? `${entryId}|${token}` : `${entryId}|${token}|${key}`,
    id: id ?? entryId,
    key,
    headers: decodeHeaders(headers),
    body,
    attempt,
    publishedAt: publishedAt === undefined ? idTime(entryId) : Number(publishedAt),
  };
}

/**
 * The ack script's arguments for `receipts` (see lua-settle.ts): the entry ids of first
 * deliveries with no key (receipt `<entry id>|1`) first, then the other receipts whole.
 */
export function ackArgs(base: string, consumer: string, receipts: readonly string[]): string[] {
  const firsts: string[] = [];
  const others: string[] = [];
  for (const receipt of receipts) {
    const bar = receipt.length - 2;
    if (receipt.endsWith('|1') && receipt.indexOf('|') === bar) firsts.push(receipt.slice(0, bar));
    else others.push(receipt);
  }
  return [base, consumer, String(firsts.length), ...firsts, ...others];
}

export function encodeHeaders(headers: Readonly<Record<string, string>>): string {
  for (const _ in headers) return JSON.stringify(headers);
  return '';
}

export function decodeHeaders(encoded: string | undefined): Readonly<Record<string, string>> {
  return encoded === undefined || encoded === ''
    ? {}
    : (JSON.parse(encoded) as Record<string, string>);
}

/** The milliseconds part of a stream entry id. */
export function idTime(entryId: string): number {
  return Number(entryId.slice(0, entryId.indexOf('-')));
}

export function idSeq(entryId: string): number {
  return Number(entryId.slice(entryId.indexOf('-') + 1));
}

export function toDeadLetter(fields: Fields): DeadLetterRecord {
  const f = fieldMap(fields);
  const { id, key, headers, body } = messageFields(fields);
  return {
    id: id ?? '',
    key,
    headers: decodeHeaders(headers),
    body,
    attempt: Number(f.get('a') ?? 0),
    publishedAt: Number(f.get('t') ?? 0),
    failedAt: Number(f.get('f') ?? 0),
    error: f.get('e') ?? '',
  };
}

export function toStreamEntry(entryId: string, fields: Fields): StreamEntryRecord {
  const f = fieldMap(fields);
  return {
    id: f.get('i') ?? '',
    key: f.get('k'),
    headers: decodeHeaders(f.get('h')),
    body: f.get('b') ?? '',
    offset: idSeq(entryId),
    publishedAt: Number(f.get('t') ?? 0),
  };
}
