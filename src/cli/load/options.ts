import { parseArgs } from 'node:util';
import { parseDuration, parsePercent, parseRate } from '../../core/index.js';
import { UsageError } from '../errors.js';

/** The storefront's seeded accounts; each password is the name followed by `-password`. */
export const demoUsers = ['alice', 'bob', 'carol', 'dave'];

export interface LoadOptions {
  /** The gateway, e.g. `http://127.0.0.1:8080`. */
  url: URL;
  /** Arrivals per second, sent on schedule whether or not earlier ones have answered. */
  ratePerSecond: number;
  durationMs: number;
  users: string[];
  /** Share of order placements that resend an earlier Idempotency-Key. */
  duplicateRatio: number;
  /** How long to wait after the run for placed orders to reach a final status. */
  settleMs: number;
  /** Per request, including its queueing in the connection pool. */
  timeoutMs: number;
  connections: number;
  json: boolean;
}

export const loadUsage =
  'usage: sluice load [--url http://127.0.0.1:8080] [--rate 50/s] [--duration 30s] [--users 2] ' +
  '[--duplicate-ratio 0.1] [--settle 10s] [--timeout 10s] [--connections 64] [--json]';

/** Reads `sluice load`'s arguments; a bad one is a UsageError naming the option. */
export function parseLoadArgs(args: string[]): LoadOptions {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      url: { type: 'string', default: 'http://127.0.0.1:8080' },
      rate: { type: 'string', default: '50/s' },
      duration: { type: 'string', default: '30s' },
      users: { type: 'string', default: '2' },
      'duplicate-ratio': { type: 'string', default: '0.1' },
      settle: { type: 'string', default: '10s' },
      timeout: { type: 'string', default: '10s' },
      connections: { type: 'string', default: '64' },
      json: { type: 'boolean', default: false },
    },
  });
  if (positionals.length > 0) {
    throw new UsageError(`load takes no arguments, got "${positionals[0]}"; ${loadUsage}`);
  }
  const durationMs = option('--duration', () => parseDuration(values.duration));
  if (durationMs <= 0) throw new UsageError('--duration: expected more than 0, such as 30s');
  const users = count('--users', values.users);
  if (users > demoUsers.length) {
    throw new UsageError(
      `--users: the storefront has ${demoUsers.length} demo users (${demoUsers.join(', ')}), got ${users}`,
    );
  }
  return {
    url: parseUrl(values.url),
    ratePerSecond: option('--rate', () => parsePerSecond(values.rate)),
    durationMs,
    users: demoUsers.slice(0, users),
    duplicateRatio: option('--duplicate-ratio', () => parseRatio(values['duplicate-ratio'])),
    settleMs: option('--settle', () => parseDuration(values.settle)),
    timeoutMs: option('--timeout', () => parseDuration(values.timeout)),
    connections: count('--connections', values.connections),
    json: values.json,
  };
}

function option<T>(name: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new UsageError(`${name}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
}

function count(name: string, text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1) {
    throw new UsageError(`${name}: expected a whole number of at least 1, got "${text}"`);
  }
  return value;
}

/** `50/s`, `3000/min`, or a plain number of arrivals per second. */
function parsePerSecond(text: string): number {
  if (/^\d+(\.\d+)?$/.test(text.trim()) && Number(text) > 0) return Number(text);
  const { limit, periodMs } = parseRate(text);
  return (limit * 1000) / periodMs;
}

/** `0.1` or `10%`. */
function parseRatio(text: string): number {
  try {
    return parsePercent(/^\d*\.?\d+$/.test(text.trim()) ? Number(text) : text);
  } catch (error) {
    throw new UsageError(`expected a ratio from 0 to 1 such as 0.1, or 10%, got "${text}"`, {
      cause: error,
    });
  }
}

function parseUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--url: expected an http:// or https:// URL, got "${text}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--url: expected an http:// or https:// URL, got "${text}"`);
  }
  return url;
}
