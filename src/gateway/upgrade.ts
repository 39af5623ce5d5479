import type { IncomingMessage } from 'node:http';
import { Duplex, Readable } from 'node:stream';
import type { GatewayRuntime } from './compile.js';
import { RequestContext } from './context.js';
import { peerAddress } from './forwarding.js';
import { normaliseTarget } from './path.js';
import { errorToResponse, problemResponse } from './problem.js';
import { requestIdOf } from './request-id.js';
import type { GatewayResponse, ResponseHeaders } from './types.js';

function head(status: number, reason: string, headers: ResponseHeaders): string {
  let text = `HTTP/1.1 ${status} ${reason}\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) text += `${name}: ${v}\r\n`;
  }
  return `${text}\r\n`;
}

/**
 * An Upgrade request (WebSocket): routed and filtered like any request (auth, rate limits
 * and CORS apply), then the proxy's 101 carries the upstream socket and the two sockets
 * are joined. Any other answer is written to the client and the connection closed.
 */
export async function handleUpgrade(
  runtime: GatewayRuntime,
  req: IncomingMessage,
  socket: Duplex,
  early: Buffer,
): Promise<void> {
  const requestId = requestIdOf(req.headers['x-request-id']);
  socket.on('error', () => socket.destroy());
  runtime.active++;
  socket.once('close', () => runtime.active--);
  let context: RequestContext | undefined;
  let response: GatewayResponse;
  try {
    const target = normaliseTarget(req.url);
    const method = req.method ?? 'GET';
    const found = runtime.router.match(method, req.headers.host ?? '', target.path, req.headers);
    if (found.kind !== 'found') {
      response = problemResponse(404, 'no-route', 'No route matches this request', {}, requestId);
    } else {
      const route = found.value;
      const peer = peerAddress(req.socket.remoteAddress);
      const clientIp = runtime.trusted.clientIp(peer, req.headers['x-forwarded-for']);
      const ctx = new RequestContext(requestId, clientIp, route.name, found.params);
      context = ctx;
      socket.once('close', () => ctx.clientGone());
      if (runtime.clientIdentity !== null) runtime.clientIdentity(req, ctx);
      req.headers['x-request-id'] = requestId;
      response = await route.handler(
        {
          method,
          path: target.path,
          query: target.query,
          headers: req.headers,
          body: null,
          raw: req,
          upgrade: String(req.headers.upgrade),
        },
        ctx,
      );
    }
  } catch (error) {
    response = errorToResponse(error, requestId);
  }
  const headers: ResponseHeaders = {
    ...response.headers,
    ...context?.responseHeaders,
    'x-request-id': requestId,
  };
  const body = response.body;
  if (response.status === 101 && body instanceof Duplex) {
    if (socket.destroyed) {
      body.destroy();
      return;
    }
    socket.write(head(101, 'Switching Protocols', headers));
    if (early.length > 0) body.write(early);
    body.on('error', () => socket.destroy());
    socket.on('close', () => body.destroy());
    body.on('close', () => socket.destroy());
    body.pipe(socket).pipe(body);
    return;
  }
  if (body instanceof Readable) body.destroy();
  const text = typeof body === 'string' || body instanceof Uint8Array ? body : '';
  headers.connection = 'close';
  headers['content-length'] = Buffer.byteLength(text);
  socket.end(
    head(response.status, 'Upgrade Refused', headers) +
      (typeof text === 'string' ? text : Buffer.from(text).toString()),
  );
}
