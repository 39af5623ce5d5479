import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { RequestContext } from '../../gateway/context.js';
import { normaliseTarget } from '../../gateway/path.js';
import { errorToResponse } from '../../gateway/problem.js';
import { requestIdOf } from '../../gateway/request-id.js';
import { rejectConnection, send } from '../../gateway/respond.js';
import type { GatewayResponse, Handler } from '../../gateway/types.js';

/** What a listener reports once a response is sent, for the golden metrics. */
export interface Served {
  context: RequestContext;
  status: number;
  seconds: number;
}

export interface ServeOptions {
  /** Fills the per-request context (the peer's identity) before the handler runs. */
  prepare?: (req: IncomingMessage, context: RequestContext) => void;
  done?: (served: Served) => void;
  draining: () => boolean;
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * Serves `handler` (a chain of gateway-shaped filters) on a node:http(s) server: each
 * request becomes a GatewayRequest, anything thrown becomes a problem response, a request
 * node:http cannot parse gets a 400 and its connection closes.
 */
export function serve(
  server: Server,
  name: string,
  handler: Handler,
  options: ServeOptions,
): { active: () => number } {
  let active = 0;
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    void exchange(req, res);
  });
  server.on('clientError', (error: Error, socket: Socket) => rejectConnection(error, socket));

  async function exchange(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const start = performance.now();
    const requestId = requestIdOf(req.headers['x-request-id']);
    const context = new RequestContext(requestId, req.socket.remoteAddress ?? '', name, {});
    let status = 0;
    active++;
    res.once('close', () => {
      active--;
      if (!res.writableFinished) context.clientGone();
      options.done?.({ context, status, seconds: (performance.now() - start) / 1000 });
    });
    req.on('error', () => {});
    let response: GatewayResponse;
    try {
      const target = normaliseTarget(req.url);
      options.prepare?.(req, context);
      req.headers['x-request-id'] = requestId;
      response = await handler(
        {
          method: req.method ?? 'GET',
          path: target.path,
          query: target.query,
          headers: req.headers,
          body: hasBody(req) ? req : null,
          raw: req,
        },
        context,
      );
    } catch (error) {
      response = errorToResponse(error, requestId);
    }
    Object.assign(response.headers, context.responseHeaders);
    if (options.draining()) response.headers.connection = 'close';
    status = response.status;
    send(res, response);
  }

  return { active: () => active };
}
