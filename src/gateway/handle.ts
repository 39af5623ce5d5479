import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LimitToken } from '../flow/index.js';
import type { GatewayRuntime } from './compile.js';
import type { RequestContext } from './context.js';
import { isUnsendableRequest } from './errors.js';
import { peerAddress } from './forwarding.js';
import { errorToResponse, problemResponse } from './problem.js';
import { enterRequest } from './request-entry.js';
import { requestIdOf } from './request-id.js';
import { send } from './respond.js';
import type { GatewayResponse } from './types.js';

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

/**
 * A failure the client only sees as a 5xx, or as a cut response: then `status` is 0, since
 * the response was already under way.
 */
export type Failure = Pick<
  Exchange,
  'requestId' | 'method' | 'path' | 'route' | 'upstream' | 'status'
>;

export interface HandleHooks {
  done?: (exchange: Exchange) => void;
  /** A request that failed on the gateway's or the upstream's side, with why. */
  failed?: (failure: Failure, error: unknown) => void;
  /** Runs when the response's connection side is done, whatever happened. */
  closed: () => void;
  /** True once shutdown began: responses then close their connection. */
  draining: () => boolean;
}

const NO_ROUTE = '(none)';

/**
 * Whether a request that failed with `error`, answered `status`, is worth a log line. 503s
 * are load shed or breakers at work, counted in metrics. A client that left is no failure:
 * its upstream call was aborted on purpose. A 500 is the gateway's own fault, whoever left;
 * a request undici would not send is the client's, worth a line all the same.
 */
export function worthLogging(status: number, error: unknown, clientGone: boolean): boolean {
  if (status === 500) return true;
  if (status > 500) return status !== 503 && !clientGone;
  return isUnsendableRequest(error);
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
    // 'close' comes once: `on` spares the wrapper `once` makes per request.
    res.on('close', () => this.#closed());
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
      if (worthLogging(response.status, error, this.context?.gone === true)) {
        this.#failed(response.status, error);
      }
    }
    const headers = response.headers;
    if (this.context) Object.assign(headers, this.context.responseHeaders);
    headers['x-request-id'] = this.requestId;
    if (this.hooks.draining()) headers.connection = 'close';
    this.status = response.status;
    const cacheStatus = headers['cache-status'];
    if (typeof cacheStatus === 'string') this.cacheStatus = cacheStatus;
    try {
      send(this.res, response, (error) => this.#failed(0, error));
    } catch (error) {
      // A response node cannot write (a filter's body of the wrong type): the gateway's
      // fault, logged; the request's promise is never left to reject unheard.
      this.status = 500;
      this.#failed(500, error);
      this.res.destroy();
    }
  }

  #failed(status: number, error: unknown): void {
    const { requestId, method, path, routeName: route, upstream } = this;
    this.hooks.failed?.({ requestId, method, path, route, upstream, status }, error);
  }

  #route(): GatewayResponse | Promise<GatewayResponse> {
    const entry = enterRequest(this.runtime, this.req, this.requestId, this.clientIp);
    this.path = entry.path;
    if (entry.route === undefined) return entry.response;
    this.routeName = entry.route.name;
    this.upstream = entry.route.upstream;
    this.context = entry.context;
    entry.context.client = this.res;
    return entry.route.handler(entry.request, entry.context);
  }

  #closed(): void {
    this.runtime.active--;
    // Not writableFinished: an HTTP/2 stream the client reset counts as finished, and its
    // upstream call would run on until it timed out.
    if (!this.res.writableEnded) this.context?.clientGone();
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
