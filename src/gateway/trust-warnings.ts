import { BlockList, isIP } from 'node:net';
import type { GatewayConfig } from './config.js';
import { parseListen } from './listen.js';

/** A configuration that loads but is probably not what its author meant. */
export interface ConfigWarning {
  segments: (string | number)[];
  message: string;
}

type Family = 'ipv4' | 'ipv6';
type Range = readonly [address: string, prefix: number, family: Family];

const LOOPBACK: readonly Range[] = [
  ['127.0.0.0', 8, 'ipv4'],
  ['::1', 128, 'ipv6'],
];
// Networks whose hosts reach a listener on every interface without crossing the internet.
const LOCAL_NETWORKS: readonly Range[] = [
  ...LOOPBACK,
  ['10.0.0.0', 8, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'],
  ['fc00::', 7, 'ipv6'],
  ['fe80::', 10, 'ipv6'],
];

const familyOf = (address: string): Family => (isIP(address) === 6 ? 'ipv6' : 'ipv4');

function parseEntry(entry: string): Range | null {
  const [address, bits] = entry.split('/');
  if (address === undefined || isIP(address) === 0) return null;
  const family = familyOf(address);
  const prefix = bits === undefined ? (family === 'ipv4' ? 32 : 128) : Number(bits);
  return Number.isInteger(prefix) ? [address, prefix, family] : null;
}

function overlaps(a: Range, b: Range): boolean {
  if (a[2] !== b[2]) return false;
  const inA = new BlockList();
  inA.addSubnet(a[0], a[1], a[2]);
  const inB = new BlockList();
  inB.addSubnet(b[0], b[1], b[2]);
  // Two CIDR ranges overlap exactly when one holds the other's first address.
  return inA.check(b[0], b[2]) || inB.check(a[0], a[2]);
}

/** The ranges clients can connect to the listener from directly, by its bind address. */
function directRanges(host: string): { ranges: readonly Range[]; why: string } {
  const any = host === '0.0.0.0' || host === '::' || host === '';
  if (any) return { ranges: LOCAL_NETWORKS, why: 'every interface' };
  if (host === 'localhost') return { ranges: LOOPBACK, why: 'loopback' };
  if (isIP(host) === 0) return { ranges: [], why: host };
  const own: Range = [host, isIP(host) === 6 ? 128 : 32, familyOf(host)];
  const loopback = LOOPBACK.some((r) => overlaps(r, own));
  return loopback ? { ranges: LOOPBACK, why: 'loopback' } : { ranges: [own], why: host };
}

/**
 * A `trustedProxies` entry is reported when it covers an address a client can connect to
 * the listener from directly, so that such a client names its own address (and so its
 * rate-limit key) in X-Forwarded-For. Those addresses are, by the `listen` host: on
 * loopback, the loopback ranges; on every interface (`0.0.0.0`, `::`), loopback and the
 * private, shared, link-local and unique-local ranges; on one other address, that address
 * (local processes connect from it). Trust a proxy only on a listener it alone can reach.
 */
export function trustedProxyWarnings(config: GatewayConfig): ConfigWarning[] {
  const entries = config.trustedProxies ?? [];
  if (entries.length === 0) return [];
  let host: string;
  try {
    host = parseListen(config.listen, 8080).host;
  } catch {
    return [];
  }
  const { ranges, why } = directRanges(host);
  const warnings: ConfigWarning[] = [];
  entries.forEach((entry, index) => {
    const range = parseEntry(entry);
    if (range === null || !ranges.some((r) => overlaps(r, range))) return;
    warnings.push({
      segments: ['trustedProxies', index],
      message:
        `${entry} is trusted as a proxy, but the listener (${why}) also takes connections ` +
        'from there directly: such a client sets its own address, and rate-limit key, ' +
        'in X-Forwarded-For. Trust only a proxy that alone can reach the listener.',
    });
  });
  return warnings;
}
