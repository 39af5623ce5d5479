import type { DeadLetterRecord, Delivery, StreamEntryRecord } from '../../driver.js';

/** A stream entry's fields as Redis returns them: [name, value, name, value, ...]. */
export type Fields = readonly string[];

export function fieldMap(fields: Fields): Map<string, string> {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i]!, fields[i + 1]!);
  return map;
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
  let id: string | undefined;
  let key: string | undefined;
  let headers: string | undefined;
  let body = '';
  let publishedAt: string | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const value = fields[i + 1]!;
    switch (fields[i]) {
      case 'i':
        id = value;
        break;
      case 'b':
        body = value;
        break;
      case 'k':
        key = value;
        break;
      case 'h':
        headers = value;
        break;
      case 't':
        publishedAt = value;
        break;
    }
  }
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
  return {
    id: f.get('i') ?? '',
    key: f.get('k'),
    headers: decodeHeaders(f.get('h')),
    body: f.get('b') ?? '',
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
