import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { LimitToken } from '../flow/index.js';
import type { GatewayRuntime } from './compile.js';
import { RequestContext } from './context.js';
import { peerAddress } from './forwarding.js';
import { normaliseTarget } from './path.js';
import { errorToResponse, problemResponse } from './problem.js';
import { requestIdOf } from './request-id.js';
import { send } from './respond.js';
import type { GatewayRequest, GatewayResponse } from './types.js';

/** What the server reports once a response has been sent, for metrics and access logs. */
export interface Exchange {
  requestId: string;
  method: string;
  path: string;
  route: string;
  upstream: string;
  status: number;
  clientIp: string;
  subject: string | undefined;
  /** The Cache-Status header, on routes with a cache. */
  cacheStatus: string | undefined;
  startedAt: number;
  durationMs: number;
}

export interface HandleHooks {
  done?: (exchange: Exchange) => void;
  /** Runs when the response's connection side is done, whatever happened. */
  closed: () => void;
  /** True once shutdown began: responses then close their connection. */
  draining: () => boolean;
}

const NO_ROUTE = '(none)';

function hasBody(req: IncomingMessage): boolean {
  // HTTP/2 frames the body itself: there is one unless the HEADERS frame ended the stream.
  if (req.httpVersionMajor === 2) {
    return !(req as unknown as Http2ServerRequest).stream.endAfterHeaders;
  }
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** One request, from parsing the target to the last byte of the response. */
class Exchanger {
  readonly startedAt = performance.now();
  readonly requestId: string;
  readonly clientIp: string;
  readonly method: string;
  routeName = NO_ROUTE;
  upstream = NO_ROUTE;
  path: string;
  context: RequestContext | undefined;
  token: LimitToken | undefined;
  status = 0;
  cacheStatus: string | undefined;

  constructor(
    readonly runtime: GatewayRuntime,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly hooks: HandleHooks,
  ) {
    this.requestId = requestIdOf(req.headers['x-request-id']);
    const peer = peerAddress(req.socket.remoteAddress);
    this.clientIp = runtime.trusted.clientIp(peer, req.headers['x-forwarded-for']);
    this.method = req.method ?? 'GET';
    this.path = req.url ?? '';
    runtime.active++;
    res.once('close', () => this.#closed());
  }

  async run(): Promise<void> {
    const shedder = this.runtime.shedder;
    let response: GatewayResponse;
    try {
      if (shedder) this.token = shedder.admit();
      if (shedder && this.token === undefined) {
        const retryAfter = String(Math.ceil(shedder.options.retryAfterMs / 1000));
        response = problemResponse(
          503,
          'overloaded',
          'The gateway is shedding load; try again later',
          { 'retry-after': retryAfter },
          this.requestId,
        );
      } else {
        response = await this.#route();
      }
    } catch (error) {
      response = errorToResponse(error, this.requestId);
    }
    const headers = response.headers;
    if (this.context) Object.assign(headers, this.context.responseHeaders);
    headers['x-request-id'] = this.requestId;
    if (this.hooks.draining()) headers.connection = 'close';
    this.status = response.status;
    const cacheStatus = headers['cache-status'];
    if (typeof cacheStatus === 'string') this.cacheStatus = cacheStatus;
    send(this.res, response);
  }

  #route(): GatewayResponse | Promise<GatewayResponse> {
    const { req, runtime, method, requestId } = this;
    const target = normaliseTarget(req.url);
    this.path = target.path;
    // A CORS preflight is routed as the request it announces.
    const preflight =
      method === 'OPTIONS' ? req.headers['access-control-request-method'] : undefined;
    const matchMethod =
      typeof preflight === 'string' && req.headers.origin ? preflight.toUpperCase() : method;
    const found = runtime.router.match(
      matchMethod,
      req.headers.host ?? '',
      target.path,
      req.headers,
    );
    if (found.kind === 'not-found') {
      return problemResponse(404, 'no-route', 'No route matches this request', {}, requestId);
    }
    if (found.kind === 'method-not-allowed') {
      const allow = found.allow.join(', ');
      return problemResponse(405, 'method-not-allowed', `Allowed: ${allow}`, { allow }, requestId);
    }
    const route = found.value;
    this.routeName = route.name;
    this.upstream = route.upstream;
    const context = new RequestContext(requestId, this.clientIp, route.name, found.params);
    this.context = context;
    if (runtime.clientIdentity !== null) runtime.clientIdentity(req, context);
    req.headers['x-request-id'] = requestId;
    const request: GatewayRequest = {
      method,
      path: target.path,
      query: target.query,
      headers: req.headers,
      body: hasBody(req) ? req : null,
      raw: req,
    };
    return route.handler(request, context);
  }

  #closed(): void {
    this.runtime.active--;
    if (!this.res.writableFinished) this.context?.clientGone();
    this.token?.success();
    this.hooks.closed();
    const done = this.hooks.done;
    if (done) {
      done({
        requestId: this.requestId,
        method: this.method,
        path: this.path,
        route: this.routeName,
        upstream: this.upstream,
        status: this.status,
        clientIp: this.clientIp,
        subject: this.context?.subject,
        cacheStatus: this.cacheStatus,
        startedAt: this.startedAt,
        durationMs: performance.now() - this.startedAt,
      });
    }
  }
}

export function handle(
  runtime: GatewayRuntime,
  req: IncomingMessage,
  res: ServerResponse,
  hooks: HandleHooks,
): Promise<void> {
  return new Exchanger(runtime, req, res, hooks).run();
}
