import type { IncomingMessage } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { type Dispatcher, Pool } from 'undici';
import { type RequestContext, upstreamSignal } from '../../gateway/context.js';
import { HttpProblemError } from '../../gateway/errors.js';
import { endToEnd } from '../../gateway/forwarding.js';
import { problemResponse } from '../../gateway/problem.js';
import { chain, type Filter, type GatewayContext, type Handler } from '../../gateway/types.js';
import { callUpstream } from '../../gateway/upstream-call.js';
import type { Authorizer } from '../authorization.js';
import { serviceOf, spiffeIdOfCertificate } from '../spiffe.js';
import type { MeshMetrics } from './metrics.js';
import { serve } from './serve.js';
import { type IdentityHolder, secureContextOptions } from './tls.js';
import { hopTracing } from './tracing.js';

/** The header that carries the caller's verified SPIFFE ID to the app. */
export const PEER_IDENTITY_HEADER = 'x-sluice-peer-identity';

/** A verified mesh caller, as the inbound side knows it from its certificate. */
export interface Peer {
  readonly id: string;
  /** The calling service, when the identity is `/svc/<name>`. */
  readonly service: string | undefined;
}

export interface MeshContext extends GatewayContext {
  peer?: Peer;
  /** The authorization rule that let the call in. */
  rule?: string;
}

export interface InboundOptions {
  service: string;
  holder: IdentityHolder;
  trustDomain: string;
  appHost: string;
  appPort: number;
  authorizer: () => Authorizer;
  metrics: MeshMetrics;
  draining: () => boolean;
  /** Filters run after authorization, before the app. */
  filters?: readonly Filter[];
}

export interface Inbound {
  server: Server;
  app: Pool;
  active: () => number;
}

/**
 * The instance's public side: terminates mutual TLS (a client certificate from the trust
 * bundle is required), admits only SVIDs of our trust domain, authorizes each request and
 * forwards it to the app on loopback with the caller's identity in a header.
 */
export function createInbound(options: InboundOptions): Inbound {
  const { holder, trustDomain, metrics, service } = options;
  const peers = new WeakMap<TLSSocket, Peer>();
  const server = createServer({
    ...secureContextOptions(holder.identity),
    requestCert: true,
    rejectUnauthorized: true,
    ALPNProtocols: ['http/1.1'],
    keepAliveTimeout: 30_000,
  });
  // Before node:http sees the connection: one that is not a mesh peer never gets parsed.
  server.prependListener('secureConnection', (socket: TLSSocket) => {
    const found = spiffeIdOfCertificate(socket.getPeerCertificate());
    if ('reason' in found || found.parsed.trustDomain !== trustDomain) {
      socket.destroy();
      return;
    }
    peers.set(socket, { id: found.id, service: serviceOf(found.parsed) });
  });
  // A failed handshake (no certificate, an untrusted or expired one) only ends that socket.
  server.on('tlsClientError', () => {});

  const app = new Pool(`http://${options.appHost}:${options.appPort}`, {
    connections: 128,
    keepAliveTimeout: 30_000,
  });
  app.on('connectionError', () => {});

  const authorize: Filter = (next) => (request, context) => {
    const mesh = context as MeshContext;
    const peer = mesh.peer!;
    const decision = options.authorizer().decide(peer.service, request.method, request.path);
    mesh.rule = decision.rule;
    if (decision.allowed) return next(request, context);
    metrics.denied(peer.service ?? 'other', decision.rule);
    return problemResponse(
      403,
      'forbidden',
      `${peer.id} may not call ${request.method} ${request.path} (rule "${decision.rule}")`,
      {},
      context.requestId,
      { rule: decision.rule },
    );
  };

  const forward: Handler = async (request, context) => {
    const headers = endToEnd(request.headers);
    headers[PEER_IDENTITY_HEADER] = (context as MeshContext).peer!.id;
    headers['x-forwarded-proto'] = 'https';
    const body = request.body;
    if (body === null) delete headers['content-length'];
    const answer = await callUpstream(
      app,
      {
        method: request.method as Dispatcher.HttpMethod,
        path: request.path + request.query,
        headers,
        body,
      },
      upstreamSignal(context),
    );
    return { status: answer.statusCode, headers: endToEnd(answer.headers), body: answer.body };
  };

  const handler = chain(
    [hopTracing('inbound', service), authorize, ...(options.filters ?? [])],
    forward,
  );
  const served = serve(server, service, handler, {
    draining: options.draining,
    prepare: (req: IncomingMessage, context: RequestContext) => {
      const peer = peers.get(req.socket as TLSSocket);
      if (peer === undefined) throw new HttpProblemError(403, 'forbidden', 'Not a mesh peer');
      (context as MeshContext).peer = peer;
      // Only this sidecar says who the caller is.
      delete req.headers[PEER_IDENTITY_HEADER];
    },
    done: ({ context, status, seconds }) => {
      const mesh = context as MeshContext;
      metrics.request(
        'inbound',
        service,
        mesh.rule ?? 'default',
        mesh.peer?.service ?? 'other',
        status,
        seconds,
      );
    },
  });
  return { server, app, active: served.active };
}
