import type { IncomingMessage } from 'node:http';
import type { RouteConfig } from './config.js';
import { badRequest, HttpProblemError } from './errors.js';
import type { Headers } from './types.js';

/** What every request must pass before it is routed. */
export interface ScreenOptions {
  /** Keep header names with `_` instead of dropping them. */
  allowUnderscores: boolean;
}

// TRACE echoes the request (cookies and credentials included) back to whoever sent it;
// TRACK is IIS's alias. Neither is forwarded, whatever the route says.
const NEVER_SERVED = new Set(['TRACE', 'TRACK']);
const SERVED = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';

// RFC 9110 section 7.2: uri-host [ ":" port ], uri-host an IP literal or a reg-name.
const VALID_HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::\d*)?$/;

/**
 * Refuses what RFC 9112 section 3.2 says to (a duplicate or invalid Host: 400) and methods
 * never served, and drops header names with `_` unless allowed: a CGI-style upstream reads
 * `X_User_Id` as the `X-User-Id` the gateway sets itself.
 */
export function screenRequest(req: IncomingMessage, options: ScreenOptions): void {
  const method = req.method ?? 'GET';
  if (NEVER_SERVED.has(method)) {
    throw new HttpProblemError(405, 'method-not-allowed', `${method} is never served`, {
      allow: SERVED,
    });
  }
  const host = req.headers.host;
  if (host !== undefined && !VALID_HOST.test(host)) {
    throw badRequest('The Host header is not a valid host', 'bad-host');
  }
  const raw = req.rawHeaders;
  let hosts = 0;
  let underscores = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 4 && name.toLowerCase() === 'host') hosts++;
    else if (name.includes('_')) underscores = true;
  }
  if (hosts > 1) throw badRequest('The request has more than one Host header', 'bad-host');
  if (underscores && !options.allowUnderscores) dropUnderscored(req.headers);
}

function dropUnderscored(headers: Headers): void {
  for (const name of Object.keys(headers)) if (name.includes('_')) delete headers[name];
}

const OVERRIDES = ['x-http-method-override', 'x-http-method', 'x-method-override'];

/**
 * Method-override headers make a framework upstream treat a POST as the method they name,
 * past the route's `methods`. Stripped unless the route allows them; allowed, the method
 * they name must be one of the route's.
 */
export function screenMethodOverride(route: RouteConfig, headers: Headers): void {
  for (const name of OVERRIDES) {
    const value = headers[name];
    if (value === undefined) continue;
    if (route.methodOverride !== true) {
      delete headers[name];
      continue;
    }
    const methods = route.methods;
    const named = String(value).trim().toUpperCase();
    if (NEVER_SERVED.has(named) || (methods !== undefined && !methods.some((m) => m === named))) {
      const allow = methods?.join(', ') ?? SERVED;
      throw new HttpProblemError(405, 'method-not-allowed', `Allowed: ${allow}`, { allow });
    }
  }
}
