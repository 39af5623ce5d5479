import { InvalidArgumentError } from '../core/errors.js';
import { decodeParam } from './path.js';
import type { Headers } from './types.js';

/** What a route matches on; every given condition must hold. */
export interface RouteMatch {
  /**
   * `/exact`, `/prefix/*` (also matches `/prefix` itself), `/users/:id` parameters;
   * `*` at the end captures the rest as the `*` parameter.
   */
  path: string;
  /** Host names, exact or `*.example.com`; any host when absent. */
  hosts?: readonly string[];
  /** Upper-case methods; any method when absent. */
  methods?: readonly string[];
  /** Header values that must be present, exactly (names lower-cased). */
  headers?: Readonly<Record<string, string>>;
}

type PathMatcher = (path: string) => Record<string, string> | null;
const NO_PARAMS: Record<string, string> = Object.freeze({}) as Record<string, string>;

export function compilePath(pattern: string): PathMatcher {
  if (!pattern.startsWith('/'))
    throw new InvalidArgumentError(`Route path "${pattern}" must start with /`);
  const wildcard = pattern === '/*' || pattern.endsWith('/*');
  const base = wildcard ? pattern.slice(0, -2) : pattern;
  if (!base.includes(':')) {
    if (!wildcard) return (path) => (path === base ? NO_PARAMS : null);
    return (path) => {
      if (path === base || (path.startsWith(base) && path.charCodeAt(base.length) === 0x2f)) {
        return { '*': path.slice(base.length + 1) };
      }
      return base === '' ? { '*': path.slice(1) } : null;
    };
  }
  const parts = base.split('/').slice(1);
  return (path) => {
    const segments = path.split('/').slice(1);
    if (segments.length < parts.length || (!wildcard && segments.length !== parts.length))
      return null;
    const params: Record<string, string> = {};
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      const segment = segments[i]!;
      if (part.startsWith(':')) {
        if (segment === '') return null;
        params[part.slice(1)] = decodeParam(segment);
      } else if (part !== segment) return null;
    }
    if (wildcard) params['*'] = segments.slice(parts.length).join('/');
    return params;
  };
}

function compileHosts(hosts: readonly string[] | undefined): ((host: string) => boolean) | null {
  if (!hosts || hosts.length === 0) return null;
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const h of hosts) {
    const host = h.toLowerCase();
    if (host.startsWith('*.')) suffixes.push(host.slice(1));
    else exact.add(host);
  }
  return (host) =>
    exact.has(host) || suffixes.some((s) => host.endsWith(s) && host.length > s.length);
}

interface Entry<T> {
  path: PathMatcher;
  host: ((host: string) => boolean) | null;
  methods: ReadonlySet<string> | null;
  headers: [string, string][] | null;
  value: T;
}

export type RouteResult<T> =
  | { kind: 'found'; value: T; params: Record<string, string> }
  | { kind: 'not-found' }
  | { kind: 'method-not-allowed'; allow: string[] };

/** First match wins, in the order routes were added. */
export class Router<T> {
  readonly #entries: Entry<T>[] = [];
  #matchesHost = false;

  add(match: RouteMatch, value: T): void {
    if (match.hosts?.length) this.#matchesHost = true;
    this.#entries.push({
      path: compilePath(match.path),
      host: compileHosts(match.hosts),
      methods: match.methods?.length ? new Set(match.methods.map((m) => m.toUpperCase())) : null,
      headers: match.headers
        ? Object.entries(match.headers).map(([k, v]) => [k.toLowerCase(), v])
        : null,
      value,
    });
  }

  match(method: string, host: string, path: string, headers: Headers): RouteResult<T> {
    const hostname = this.#matchesHost ? stripPort(host).toLowerCase() : '';
    let allow: string[] | null = null;
    for (const entry of this.#entries) {
      if (entry.host && !entry.host(hostname)) continue;
      if (entry.headers && !entry.headers.every(([k, v]) => headers[k] === v)) continue;
      const params = entry.path(path);
      if (params === null) continue;
      if (entry.methods && !entry.methods.has(method)) {
        allow ??= [];
        allow.push(...entry.methods);
        continue;
      }
      return { kind: 'found', value: entry.value, params };
    }
    return allow
      ? { kind: 'method-not-allowed', allow: [...new Set(allow)] }
      : { kind: 'not-found' };
  }
}

function stripPort(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end < 0 ? host : host.slice(0, end + 1);
  }
  const colon = host.indexOf(':');
  return colon < 0 ? host : host.slice(0, colon);
}
