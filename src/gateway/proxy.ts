import { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Dispatcher } from 'undici';
import { aborted, upstreamSignal } from './context.js';
import { unsendableRequest } from './errors.js';
import { addForwardingHeaders, endToEnd, peerAddress, type TrustedProxies } from './forwarding.js';
import type { Target } from './target.js';
import type { GatewayResponse, Handler, ResponseHeaders } from './types.js';
import type { Upstream } from './upstream.js';
import { callUpstream, type UpstreamAnswer } from './upstream-call.js';

export interface ProxyOptions {
  upstream: Upstream;
  trusted: TrustedProxies;
  /** Time to wait for the upstream's response headers. */
  headersTimeoutMs?: number;
  /** Longest pause between two chunks of the upstream's response body. */
  bodyTimeoutMs?: number;
  /** Send the client's Host header instead of the target's. */
  preserveHost?: boolean;
  /** Our pseudonym in `Via`. */
  via?: string;
}

const skipHost = new Set(['host']);

/**
 * The terminal handler of every route: forwards the request to a target of the upstream
 * and hands back the response with its body still streaming.
 */
export function proxy(options: ProxyOptions): Handler {
  const { upstream, trusted } = options;
  const headersTimeout = options.headersTimeoutMs ?? 30_000;
  const bodyTimeout = options.bodyTimeoutMs ?? 30_000;
  // Via names the protocol each message was received with (RFC 9110 section 7.6.3): the
  // client's for the request, HTTP/1.1 (undici's) for the response.
  const name = options.via ?? 'sluice';
  const via1 = `1.1 ${name}`;
  const via2 = `2 ${name}`;
  const skip = options.preserveHost ? undefined : skipHost;

  return async (request, context) => {
    const raw = request.raw;
    const peer = peerAddress(raw.socket.remoteAddress);
    const headers = endToEnd(request.headers, skip);
    addForwardingHeaders(
      headers,
      request.headers,
      {
        peer,
        trustedPeer: trusted.trusts(peer),
        proto: (raw.socket as Partial<TLSSocket>).encrypted ? 'https' : 'http',
        host: request.headers.host,
      },
      raw.httpVersionMajor === 2 ? via2 : via1,
    );
    headers['x-request-id'] = context.requestId;
    const body = request.body;
    if (body === null) delete headers['content-length'];
    else if (body instanceof Uint8Array) headers['content-length'] = String(body.byteLength);

    const target = upstream.pick();
    if (request.upgrade !== undefined) return upgrade(target, request.upgrade);
    target.inflight++;
    let response: UpstreamAnswer;
    try {
      response = await callUpstream(
        target.pool,
        {
          method: request.method as Dispatcher.HttpMethod,
          path: request.path + request.query,
          headers,
          body,
          headersTimeout,
          bodyTimeout,
        },
        upstreamSignal(context),
        context,
      );
    } catch (error) {
      target.inflight--;
      const refused = unsendableRequest(error);
      if (refused) throw refused;
      if (!aborted(context)) upstream.report(target, false);
      throw error;
    }
    upstream.report(target, response.statusCode < 500);
    if (response.body instanceof Readable) response.body.once('close', () => target.inflight--);
    else target.inflight--;
    const out = endToEnd(response.headers) as Record<string, string | string[]>;
    // A 204 has no Content-Length (RFC 9110 section 8.6), and a 304's, which the upstream
    // may send, makes clients such as undici wait for a body that never comes.
    if (response.statusCode === 204 || response.statusCode === 304) delete out['content-length'];
    const priorVia = out.via;
    out.via = priorVia ? `${priorVia}, ${via1}` : via1;
    return { status: response.statusCode, headers: out, body: response.body };

    async function upgrade(target: Target, protocol: string): Promise<GatewayResponse> {
      let upgraded: Dispatcher.UpgradeData;
      try {
        upgraded = await target.pool.upgrade({
          method: 'GET',
          path: request.path + request.query,
          headers,
          protocol,
          signal: upstreamSignal(context),
        });
      } catch (error) {
        const refused = unsendableRequest(error);
        if (refused) throw refused;
        if (!aborted(context)) upstream.report(target, false);
        throw error;
      }
      upstream.report(target, true);
      // Until the client's socket is joined to it, an error here must not go unheard.
      upgraded.socket.on('error', () => upgraded.socket.destroy());
      return { status: 101, headers: upgraded.headers as ResponseHeaders, body: upgraded.socket };
    }
  };
}
