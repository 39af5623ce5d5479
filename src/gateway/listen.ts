import { InvalidArgumentError } from '../core/errors.js';

export interface ListenAddress {
  host: string;
  port: number;
}

/** `host:port`, `[::1]:port`, `:port` or a bare port; the host defaults to 127.0.0.1. */
export function parseListen(
  value: string | number | undefined,
  fallbackPort: number,
): ListenAddress {
  if (value === undefined) return { host: '127.0.0.1', port: fallbackPort };
  if (typeof value === 'number') return { host: '127.0.0.1', port: checkPort(value, value) };
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value) ?? /^()()(\d+)$/.exec(value);
  if (!match) throw new InvalidArgumentError(`listen: expected host:port, got "${value}"`);
  const host = match[1] || match[2] || '127.0.0.1';
  return { host, port: checkPort(Number(match[3]), value) };
}

function checkPort(port: number, original: unknown): number {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidArgumentError(`listen: bad port in ${JSON.stringify(original)}`);
  }
  return port;
}
