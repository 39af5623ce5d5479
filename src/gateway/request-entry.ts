import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { CompiledRoute, GatewayRuntime } from './compile.js';
import { RequestContext } from './context.js';
import { normaliseTarget } from './path.js';
import { problemResponse } from './problem.js';
import { screenMethodOverride, screenRequest } from './request-screen.js';
import type { GatewayRequest, GatewayResponse } from './types.js';

/** A request that found its route, ready for the route's filters. */
export interface Routed {
  path: string;
  route: CompiledRoute;
  request: GatewayRequest;
  context: RequestContext;
}

/** A request answered before any route ran (no route, method not allowed). */
export interface Refused {
  path: string;
  route: undefined;
  response: GatewayResponse;
}

const ignore = (): void => {};

function hasBody(req: IncomingMessage): boolean {
  // HTTP/2 frames the body itself: there is one unless the HEADERS frame ended the stream.
  if (req.httpVersionMajor === 2) {
    return !(req as unknown as Http2ServerRequest).stream.endAfterHeaders;
  }
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * Everything between parsing and the route's filters, the same for a plain request and an
 * Upgrade: the request-wide checks, the target, routing, and the request's one context.
 * Problems a client caused are thrown as HttpProblemError.
 */
export function enterRequest(
  runtime: GatewayRuntime,
  req: IncomingMessage,
  requestId: string,
  clientIp: string,
  upgrade?: string,
): Routed | Refused {
  screenRequest(req, { allowUnderscores: runtime.config.underscoreHeaders === 'allow' });
  const target = normaliseTarget(req.url);
  const path = target.path;
  const method = req.method ?? 'GET';
  const host = req.headers.host ?? '';
  let found = runtime.router.match(method, host, path, req.headers);
  // A CORS preflight is routed as the request it announces, on routes that answer preflights.
  const announced = method === 'OPTIONS' ? req.headers['access-control-request-method'] : undefined;
  if (typeof announced === 'string' && req.headers.origin) {
    const preflight = runtime.router.match(announced.toUpperCase(), host, path, req.headers);
    if (preflight.kind === 'found' && preflight.value.config.cors) found = preflight;
  }
  if (found.kind === 'not-found') {
    const response = problemResponse(
      404,
      'no-route',
      'No route matches this request',
      {},
      requestId,
    );
    return { path, route: undefined, response };
  }
  if (found.kind === 'method-not-allowed') {
    const allow = found.allow.join(', ');
    const response = problemResponse(
      405,
      'method-not-allowed',
      `Allowed: ${allow}`,
      { allow },
      requestId,
    );
    return { path, route: undefined, response };
  }
  const route = found.value;
  screenMethodOverride(route.config, req.headers);
  const context = new RequestContext(requestId, clientIp, route.name, found.params);
  if (runtime.clientIdentity !== null) runtime.clientIdentity(req, context);
  req.headers['x-request-id'] = requestId;
  const body = upgrade === undefined && hasBody(req) ? req : null;
  // A client that leaves mid-body makes node emit 'error' on the request, perhaps while a
  // filter is still awaiting (a JWKS fetch, a Redis limit) and nothing reads the body yet:
  // unheard, it would end the process. Whoever reads the body later finds it destroyed,
  // and the response's 'close' aborts the upstream call.
  body?.on('error', ignore);
  const request: GatewayRequest = {
    method,
    path,
    query: target.query,
    headers: req.headers,
    body,
    raw: req,
    ...(upgrade === undefined ? {} : { upgrade }),
  };
  return { path, route, request, context };
}
