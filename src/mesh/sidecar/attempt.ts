import { Readable } from 'node:stream';
import { isAbortedError, isCircuitOpenError, isTimeoutError } from '../../core/errors.js';
import { HttpProblemError } from '../../gateway/errors.js';

/** Marks an error raised before any byte of the request left: safe to retry for any method. */
export const CONNECT_FAILED: unique symbol = Symbol('sluice.mesh.connectFailed');

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
/** Answers that say the endpoint, not the request, failed. */
const RETRYABLE_STATUS = new Set([502, 503, 504]);
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);
/** Bodies up to this size are kept so a call can be retried (Linkerd's limit). */
export const MAX_REPLAY_BODY = 64 * 1024;

export const isIdempotent = (method: string): boolean => IDEMPOTENT.has(method);

export function neverSent(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  if ((error as { [CONNECT_FAILED]?: boolean })[CONNECT_FAILED] === true) return true;
  return NOT_SENT_CODES.has(String((error as { code?: unknown }).code));
}

/** Whether a failed attempt may be tried again, by the safety rules alone (budget aside). */
export function retrySafe(method: string, outcome: { status: number } | unknown): boolean {
  if (isTimeoutError(outcome) || isAbortedError(outcome)) return false;
  if (
    typeof outcome === 'object' &&
    outcome !== null &&
    'status' in outcome &&
    typeof outcome.status === 'number'
  ) {
    return RETRYABLE_STATUS.has(outcome.status) && isIdempotent(method);
  }
  if (isCircuitOpenError(outcome)) return true;
  return neverSent(outcome) || isIdempotent(method);
}

/**
 * Reads a request body of known, small length into memory so that it can be sent again;
 * undefined when it is streamed instead (no retries then).
 */
export async function replayableBody(
  body: Readable | Uint8Array | null,
  contentLength: string | undefined,
): Promise<Uint8Array | null | undefined> {
  if (body === null || body instanceof Uint8Array) return body;
  const length = contentLength === undefined ? Number.NaN : Number(contentLength);
  if (!(length >= 0 && length <= MAX_REPLAY_BODY)) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as Readable) {
    size += (chunk as Buffer).length;
    if (size > MAX_REPLAY_BODY) throw new Error('request body longer than its content-length');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Frees a response body nobody will read. */
export function discard(body: Readable | Uint8Array | string | null): void {
  if (body instanceof Readable) body.destroy();
}

const TLS_FAILURE = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED)/;

/**
 * What the app is told when the last attempt failed: a peer that could not prove it is
 * the upstream (a TLS or identity failure) is a 502 that says so; other errors pass on
 * to the common problem mapping.
 */
export function finalError(error: unknown, upstream: string): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && TLS_FAILURE.test(code)) {
    return new HttpProblemError(
      502,
      'peer-rejected',
      `The endpoint did not prove it is "${upstream}" over mutual TLS`,
    );
  }
  return error;
}
