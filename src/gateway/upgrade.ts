import { type IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Duplex, Readable } from 'node:stream';
import type { GatewayRuntime } from './compile.js';
import type { RequestContext } from './context.js';
import { peerAddress } from './forwarding.js';
import { type HandleHooks, worthLogging } from './handle.js';
import { normaliseTarget } from './path.js';
import { errorToResponse, problemResponse } from './problem.js';
import { enterRequest } from './request-entry.js';
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

/** The protocols an Upgrade header offers, lower-cased, versions left off (`websocket`). */
function offered(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split(',')
    .map((p) => p.trim().split('/')[0]!.toLowerCase())
    .filter((p) => p !== '');
}

/**
 * Whether an Upgrade request may become a tunnel: its route lists every protocol offered
 * in `upgrade`. `h2c` never does: a tunnel of HTTP/2 would carry requests to any path of
 * the upstream past the route's own filters.
 */
export function tunnelAllowed(runtime: GatewayRuntime, req: IncomingMessage): boolean {
  const protocols = offered(req.headers.upgrade);
  if (protocols.length === 0 || protocols.includes('h2c')) return false;
  let path: string;
  try {
    path = normaliseTarget(req.url).path;
  } catch {
    return false;
  }
  const found = runtime.router.match(
    req.method ?? 'GET',
    req.headers.host ?? '',
    path,
    req.headers,
  );
  if (found.kind !== 'found') return false;
  const allowed = found.value.config.upgrade?.map((p) => p.toLowerCase()) ?? [];
  return protocols.every((p) => allowed.includes(p));
}

/**
 * An Upgrade the route does not allow is served as the plain request it also is, as nginx
 * does (it never forwards Upgrade unless told to): the upgrade headers are dropped and the
 * connection closes after the response, since node:http has handed the socket over.
 */
export function servePlain(
  req: IncomingMessage,
  socket: Duplex,
  serve: (req: IncomingMessage, res: ServerResponse) => void,
): void {
  socket.on('error', () => socket.destroy());
  delete req.headers.upgrade;
  delete req.headers.connection;
  delete req.headers['http2-settings'];
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket as Socket);
  res.once('finish', () => socket.end());
  const length = req.headers['content-length'];
  if (req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')) {
    // node:http parsed no body for an Upgrade request: its bytes are on the socket, unframed.
    const { status, headers, body } = problemResponse(
      400,
      'upgrade-refused',
      'This route does not allow this Upgrade, and a request body cannot follow one',
    );
    res.writeHead(status, headers);
    res.end(body);
    return;
  }
  serve(req, res);
}

/**
 * An allowed Upgrade request (WebSocket): routed and filtered like any request (auth, rate
 * limits and CORS apply), then the proxy's 101 carries the upstream socket and the two
 * sockets are joined. Any other answer is written to the client and the connection closed.
 */
export async function handleUpgrade(
  runtime: GatewayRuntime,
  req: IncomingMessage,
  socket: Duplex,
  early: Buffer,
  failed?: HandleHooks['failed'],
): Promise<void> {
  const requestId = requestIdOf(req.headers['x-request-id']);
  socket.on('error', () => socket.destroy());
  runtime.active++;
  socket.once('close', () => runtime.active--);
  let context: RequestContext | undefined;
  let route = '(none)';
  let upstream = '(none)';
  let response: GatewayResponse;
  try {
    const peer = peerAddress(req.socket.remoteAddress);
    const clientIp = runtime.trusted.clientIp(peer, req.headers['x-forwarded-for']);
    const entry = enterRequest(runtime, req, requestId, clientIp, String(req.headers.upgrade));
    if (entry.route === undefined) response = entry.response;
    else {
      const ctx = entry.context;
      context = ctx;
      route = entry.route.name;
      upstream = entry.route.upstream;
      socket.once('close', () => ctx.clientGone());
      response = await entry.route.handler(entry.request, ctx);
    }
  } catch (error) {
    response = errorToResponse(error, requestId);
    const status = response.status;
    if (worthLogging(status, error, context?.gone === true)) {
      const path = req.url ?? '';
      failed?.({ requestId, method: req.method ?? 'GET', path, route, upstream, status }, error);
    }
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
