import type { Freshness } from './cache-freshness.js';
import type { CacheEntry } from './cache-store.js';

const FORMAT = 2;
const HEAD = 4;

interface EntryMeta {
  v: number;
  status: number;
  headers: Record<string, string | string[]>;
  responseTime: number;
  initialAge: number;
  freshness: Freshness;
}

/**
 * An entry as one buffer for a shared store: a 4-byte length, JSON with the status, the
 * stored response headers and what freshness was decided when it was stored, then the
 * body. No request header is written: the variant (the values of the `Vary` headers) is
 * the field name in the store's hash.
 */
export function encodeEntry(entry: CacheEntry): Buffer {
  const meta: EntryMeta = {
    v: FORMAT,
    status: entry.status,
    headers: entry.headers,
    responseTime: entry.responseTime,
    initialAge: entry.initialAge,
    freshness: entry.freshness,
  };
  const json = Buffer.from(JSON.stringify(meta));
  const head = Buffer.allocUnsafe(HEAD);
  head.writeUInt32BE(json.length);
  return Buffer.concat([head, json, entry.body]);
}

/** The entry in `data`, or null when it is not one this version wrote (skipped, not fatal). */
export function decodeEntry(variant: string, data: Buffer): CacheEntry | null {
  try {
    const length = data.readUInt32BE(0);
    const meta = JSON.parse(data.subarray(HEAD, HEAD + length).toString()) as EntryMeta;
    if (meta.v !== FORMAT || typeof meta.headers !== 'object' || meta.headers === null) return null;
    return {
      status: meta.status,
      headers: meta.headers,
      body: data.subarray(HEAD + length),
      variant,
      size: data.length,
      responseTime: meta.responseTime,
      initialAge: meta.initialAge,
      freshness: meta.freshness,
    };
  } catch {
    return null;
  }
}
