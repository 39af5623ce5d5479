import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import type { ClientCertConfig } from './config.js';
import type { GatewayContext } from './types.js';

/**
 * Gives a request's context the verified client certificate's subject, and gives it to the
 * upstream too when `subjectHeader` is set.
 */
export type ClientIdentity = (req: IncomingMessage, context: GatewayContext) => void;

export function clientIdentity(config: ClientCertConfig | undefined): ClientIdentity | null {
  if (config === undefined) return null;
  const header = config.subjectHeader?.toLowerCase();
  return (req, context) => {
    const subject = clientSubject(req);
    if (subject !== undefined) context.clientSubject = subject;
    if (header === undefined) return;
    // Never the client's own claim to an identity.
    delete req.headers[header];
    if (subject !== undefined) req.headers[header] = headerSafe(subject);
  };
}

// One entry per connection (HTTP/2: per session), dropped with it.
const subjects = new WeakMap<object, string | null>();

/**
 * The subject of the certificate the client proved it holds, in RFC 4514 form
 * (`CN=alice,O=Storefront`), or undefined when it presented none that verified.
 */
export function clientSubject(req: IncomingMessage): string | undefined {
  const connection =
    req.httpVersionMajor === 2 ? (req as unknown as Http2ServerRequest).stream.session : req.socket;
  if (connection === undefined) return undefined;
  let subject = subjects.get(connection);
  if (subject === undefined) {
    subject = verifiedSubject(req.socket as TLSSocket);
    subjects.set(connection, subject);
  }
  return subject ?? undefined;
}

function verifiedSubject(socket: TLSSocket): string | null {
  if (socket.authorized !== true) return null;
  const subject = socket.getPeerX509Certificate()?.subject;
  // node lists the names one per line, escaped as RFC 4514 asks, root-most first.
  return subject ? subject.split('\n').reverse().join(',') : null;
}

/** Percent-encodes what a header value cannot carry (and `%`, so it stays unambiguous). */
function headerSafe(value: string): string {
  return /[^\x20-\x24\x26-\x7e]/.test(value)
    ? value.replace(/[^\x20-\x24\x26-\x7e]/gu, (c) => encodeURIComponent(c))
    : value;
}

/**
 * With `mode: request` node lets a client through whose certificate did not verify; one
 * that sent none is served without identity, one that sent a bad one is cut off here,
 * before any request is read.
 */
export function refuseUnverified(socket: TLSSocket): void {
  if (!socket.authorized && socket.getPeerX509Certificate() !== undefined) socket.destroy();
}
