import CachePolicy from 'http-cache-semantics';
import type { CacheEntry } from './cache-store.js';
import { varyNames } from './cache-variant.js';

const FORMAT = 1;
const HEAD = 4;

interface EntryMeta {
  v: number;
  status: number;
  policy: CachePolicy.CachePolicyObject;
}

/**
 * An entry as one buffer for a shared store: a 4-byte length, JSON with the status and the
 * serialized CachePolicy (its response headers included), then the body. Of the request
 * headers the policy keeps, only those `Vary` names are written: the rest (cookies,
 * authorization) would only match nothing and must not leave the process.
 */
export function encodeEntry(entry: CacheEntry): Buffer {
  const policy = entry.policy.toObject();
  if (policy.reqh !== null) {
    const kept: CachePolicy.Headers = {};
    for (const name of varyNames(policy.resh.vary)) {
      if (Object.hasOwn(policy.reqh, name)) kept[name] = policy.reqh[name];
    }
    policy.reqh = kept;
  }
  const meta: EntryMeta = { v: FORMAT, status: entry.status, policy };
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
    if (meta.v !== FORMAT) return null;
    return {
      policy: CachePolicy.fromObject(meta.policy),
      status: meta.status,
      body: data.subarray(HEAD + length),
      variant,
      size: data.length,
    };
  } catch {
    return null;
  }
}
