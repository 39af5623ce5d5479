import { BlockList, isIPv6 } from 'node:net';
import { InvalidArgumentError } from '../core/errors.js';
import type { Headers } from './types.js';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  // Expectations are between the client and us; node:http already answered 100-continue.
  'expect',
]);

/**
 * Copies headers without hop-by-hop ones, including any the Connection header names, and
 * without HTTP/2 pseudo-headers (`:method`, `:path`, `:authority`, `:scheme`).
 */
export function endToEnd(headers: Headers, skip?: ReadonlySet<string>): Headers {
  const out: Headers = {};
  const connection = headers.connection;
  const named =
    connection && !PLAIN_CONNECTION.has(connection as string) ? connectionTokens(connection) : null;
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || named?.has(name) || skip?.has(name)) continue;
    if (name.charCodeAt(0) === COLON) continue;
    const value = headers[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

const COLON = 0x3a;

// The values nearly every client sends name no extra hop-by-hop header.
const PLAIN_CONNECTION = new Set(['keep-alive', 'close', 'Keep-Alive', 'Close']);

function connectionTokens(value: string | string[]): Set<string> {
  const text = Array.isArray(value) ? value.join(',') : value;
  return new Set(text.split(',').map((t) => t.trim().toLowerCase()));
}

/** Which peers may tell us who the client is: addresses and CIDR ranges. */
export class TrustedProxies {
  readonly #list = new BlockList();
  readonly #empty: boolean;

  constructor(entries: readonly string[] = []) {
    this.#empty = entries.length === 0;
    for (const entry of entries) {
      const [address, bits] = entry.split('/');
      const type = isIPv6(address!) ? 'ipv6' : 'ipv4';
      if (bits === undefined) this.#list.addAddress(address!, type);
      else {
        const prefix = Number(bits);
        if (!Number.isInteger(prefix)) throw new InvalidArgumentError(`Bad CIDR "${entry}"`);
        this.#list.addSubnet(address!, prefix, type);
      }
    }
  }

  trusts(address: string): boolean {
    if (this.#empty || address === '') return false;
    try {
      return this.#list.check(address, address.includes(':') ? 'ipv6' : 'ipv4');
    } catch {
      return false;
    }
  }

  /**
   * The client's address: the peer itself unless it is trusted, in which case the
   * right-most X-Forwarded-For entry that is not a trusted proxy. Entries left of that
   * one were written by whoever the client is and prove nothing.
   */
  clientIp(peer: string, xff: string | string[] | undefined): string {
    if (!xff || !this.trusts(peer)) return peer;
    const hops = (Array.isArray(xff) ? xff.join(',') : xff).split(',');
    let candidate = peer;
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i]!.trim();
      if (hop === '') continue;
      candidate = hop;
      if (!this.trusts(hop)) return hop;
    }
    return candidate;
  }
}

export function peerAddress(address: string | undefined): string {
  if (!address) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

export interface ForwardInfo {
  peer: string;
  trustedPeer: boolean;
  proto: string;
  host: string | undefined;
}

/** Sets X-Forwarded-*, Forwarded and Via on headers bound upstream. */
export function addForwardingHeaders(
  out: Headers,
  incoming: Headers,
  info: ForwardInfo,
  via: string,
): void {
  const { peer, trustedPeer } = info;
  const priorXff = trustedPeer ? joined(incoming['x-forwarded-for']) : undefined;
  out['x-forwarded-for'] = priorXff ? `${priorXff}, ${peer}` : peer;
  const proto = (trustedPeer && joined(incoming['x-forwarded-proto'])) || info.proto;
  out['x-forwarded-proto'] = proto;
  const host = (trustedPeer && joined(incoming['x-forwarded-host'])) || info.host;
  if (host) out['x-forwarded-host'] = host;
  else delete out['x-forwarded-host'];
  const node = peer.includes(':') ? `"[${peer}]"` : peer || 'unknown';
  const element = `for=${node};proto=${info.proto}${info.host ? `;host="${info.host.replace(/["\\]/g, '')}"` : ''}`;
  const priorForwarded = trustedPeer ? joined(incoming.forwarded) : undefined;
  out.forwarded = priorForwarded ? `${priorForwarded}, ${element}` : element;
  const priorVia = joined(incoming.via);
  out.via = priorVia ? `${priorVia}, ${via}` : via;
}

function joined(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}
