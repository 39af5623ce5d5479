import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createSecureServer, type Http2SecureServer, Http2ServerRequest } from 'node:http2';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { SecureContextOptions } from 'node:tls';
import { parseDuration, parseSize } from '../core/units.js';
import { refuseUnverified } from './client-cert.js';
import type { ClientCertConfig, LimitsConfig } from './config.js';
import { continueOnRead } from './expect-continue.js';
import { Http2Connections, hostFromAuthority, limitRequestTime } from './http2.js';

/**
 * Streams one HTTP/2 connection may have open at once (node's default is unbounded): the
 * minimum RFC 9113 section 6.5.2 recommends, as Envoy and nginx (128) bound theirs. nghttp2
 * refuses a stream beyond it (REFUSED_STREAM, safe to retry), and node closes a session
 * that keeps opening them.
 */
const MAX_STREAMS = 100;

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/** The gateway's server and what the drain does to its connections. */
export interface Listener {
  readonly server: Server | HttpsServer | Http2SecureServer;
  /** Closes connections with no request in progress; HTTP/2 sessions get a GOAWAY. */
  closeIdle(): void;
  /** Cuts every connection. */
  closeAll(): void;
}

export interface ListenerOptions {
  limits: LimitsConfig;
  /** Serve HTTPS with this certificate; plain HTTP when null. */
  tls: SecureContextOptions | null;
  /** HTTP/2 beside HTTP/1.1 (needs `tls`). */
  http2: boolean;
  /** Ask clients for certificates (`tls.clientCert.mode`), verified against the context's `ca`. */
  clientCert: ClientCertConfig['mode'] | undefined;
}

/**
 * HTTP/1.1, over TLS when `tls` is given; with `http2` as well, HTTP/2 and HTTP/1.1 over
 * TLS, chosen per connection by ALPN. The same limits hold whichever protocol a client speaks.
 */
export function createListener(options: ListenerOptions, onRequest: RequestListener): Listener {
  const { limits, tls, http2, clientCert } = options;
  const maxHeaderSize = parseSize(limits.maxHeaderSize ?? '16kb');
  const headersTimeout = parseDuration(limits.headersTimeout ?? '10s');
  const requestTimeout = parseDuration(limits.requestTimeout ?? '30s');
  const keepAliveTimeout = parseDuration(limits.keepAliveTimeout ?? '5s');
  const http1 = {
    maxHeaderSize,
    headersTimeout,
    requestTimeout,
    keepAliveTimeout,
    connectionsCheckingInterval: Math.max(50, Math.min(headersTimeout, requestTimeout, 30_000) / 4),
  };
  if (tls === null) return http1Listener(createHttpServer(http1, onRequest), onRequest);
  // A client that never finishes its handshake is given no longer than one that never
  // finishes its headers.
  const secure = {
    ...tls,
    handshakeTimeout: headersTimeout,
    ...(clientCert === undefined
      ? {}
      : { requestCert: true, rejectUnauthorized: clientCert !== 'request' }),
  };
  if (!http2) {
    const server = createHttpsServer({ ...http1, ...secure }, onRequest);
    if (clientCert === 'request') server.prependListener('secureConnection', refuseUnverified);
    return http1Listener(server, onRequest);
  }
  const onEither = (req: IncomingMessage | Http2ServerRequest, res: unknown): void => {
    // HTTP/1.1 requests come here too, as node:http objects.
    if (req instanceof Http2ServerRequest) {
      hostFromAuthority(req);
      limitRequestTime(req, requestTimeout);
    }
    // node's compatibility API: the gateway uses only what both kinds of objects have.
    onRequest(req as unknown as IncomingMessage, res as ServerResponse);
  };
  const server = createSecureServer(
    {
      ...secure,
      allowHTTP1: true,
      settings: { maxHeaderListSize: maxHeaderSize, maxConcurrentStreams: MAX_STREAMS },
    },
    onEither,
  );
  answerExpectations(server, onEither);
  if (clientCert === 'request') server.prependListener('secureConnection', refuseUnverified);
  // The HTTP/1.1 fallback is node:http's connection handling, which reads its limits, and
  // keeps the connection list closeIdleConnections uses, on the server object.
  Object.assign(server, http1);
  const fallback = server as unknown as Pick<Server, 'closeIdleConnections'>;
  const connections = new Http2Connections(server, keepAliveTimeout);
  return {
    server,
    closeIdle: () => {
      connections.goAway();
      fallback.closeIdleConnections();
    },
    closeAll: () => connections.destroy(),
  };
}

/** `Expect: 100-continue` is answered by the first read of the body, not by node:http at once. */
function answerExpectations(
  server: Server | HttpsServer | Http2SecureServer,
  onRequest: (req: IncomingMessage, res: ServerResponse) => void,
): void {
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    continueOnRead(req, res);
    onRequest(req, res);
  });
}

function http1Listener(server: Server | HttpsServer, onRequest: RequestListener): Listener {
  answerExpectations(server, onRequest);
  return {
    server,
    closeIdle: () => server.closeIdleConnections(),
    closeAll: () => server.closeAllConnections(),
  };
}
