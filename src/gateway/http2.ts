import {
  constants,
  type Http2SecureServer,
  type Http2ServerRequest,
  type ServerHttp2Session,
} from 'node:http2';
import type { TLSSocket } from 'node:tls';
import type { ResponseHeaders } from './types.js';

// The connection-specific fields an HTTP/2 message must not carry (RFC 9113 section 8.2.2).
const CONNECTION_SPECIFIC = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
];

/** Removes from response headers what HTTP/2 forbids; node would refuse to send them. */
export function stripConnectionHeaders(headers: ResponseHeaders): void {
  for (const name of CONNECTION_SPECIFIC) {
    if (headers[name] !== undefined) delete headers[name];
  }
}

/**
 * Gives an HTTP/2 request the Host header that routing and forwarding read. `:authority`
 * wins over a Host field, as RFC 9113 section 8.3.1 says. The pseudo-headers stay (the
 * request's method and url are read from them); nothing forwards names starting with `:`.
 */
export function hostFromAuthority(req: Http2ServerRequest): void {
  const authority = req.headers[':authority'];
  if (authority !== undefined) req.headers.host = authority;
}

/**
 * node:http's `requestTimeout` for an HTTP/2 stream: a client that has not sent the
 * whole request (END_STREAM) within `ms` gets the stream reset.
 */
export function limitRequestTime(req: Http2ServerRequest, ms: number): void {
  const stream = req.stream;
  if (ms <= 0 || stream.endAfterHeaders) return;
  const timer = setTimeout(() => {
    if (!stream.destroyed && !stream.state.remoteClose) stream.close(constants.NGHTTP2_CANCEL);
  }, ms);
  stream.once('close', () => clearTimeout(timer));
}

/**
 * The connections of a secure HTTP/2 server, HTTP/2 sessions and HTTP/1.1 fallbacks
 * alike, for the drain. A session with no open stream for `idleMs` is closed, as
 * node:http closes an idle keep-alive connection.
 */
export class Http2Connections {
  readonly #sessions = new Set<ServerHttp2Session>();
  readonly #sockets = new Set<TLSSocket>();

  constructor(server: Http2SecureServer, idleMs: number) {
    server.on('secureConnection', (socket: TLSSocket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    server.on('session', (session: ServerHttp2Session) => {
      this.#sessions.add(session);
      session.once('close', () => this.#sessions.delete(session));
      closeWhenIdle(session, idleMs);
    });
  }

  /** A GOAWAY to every session: no new streams, the open ones run to their end. */
  goAway(): void {
    for (const session of this.#sessions) session.close();
  }

  /** Cuts every connection, whatever it is doing. */
  destroy(): void {
    for (const socket of this.#sockets) socket.destroy();
  }
}

function closeWhenIdle(session: ServerHttp2Session, idleMs: number): void {
  let open = 0;
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    timer = setTimeout(() => session.close(), idleMs);
  };
  session.on('stream', (stream) => {
    open++;
    clearTimeout(timer);
    stream.once('close', () => {
      if (--open === 0 && !session.closed) arm();
    });
  });
  session.once('close', () => clearTimeout(timer));
  arm();
}
