import { errorGuard, SluiceError, type SluiceErrorOptions } from '../core/errors.js';
import type { ResponseHeaders } from './types.js';

/**
 * An error that is already an HTTP answer: a status, a problem type and a detail that is
 * safe to show a client. Filters throw it; the server renders it as RFC 9457 JSON.
 */
export class HttpProblemError extends SluiceError {
  /** Extra members for the problem body. */
  extensions: ProblemExtensions = {};

  constructor(
    readonly status: number,
    /** Short kebab-case problem type, e.g. `rate-limited`; becomes the `type` URI. */
    readonly problem: string,
    readonly detail: string,
    readonly headers: ResponseHeaders = {},
    options?: SluiceErrorOptions,
  ) {
    super('SLUICE_GATEWAY_HTTP', detail, options);
    this.name = 'HttpProblemError';
  }
}

/** Extension members of the problem body (RFC 9457 section 3.2). */
export interface ProblemExtensions {
  errors?: { pointer: string; message: string }[];
  /** The stable SLUICE_* code, for APIs whose clients match on it (the mesh's control plane). */
  code?: string;
  /** The mesh authorization rule that decided a denied call. */
  rule?: string;
}

export const isHttpProblemError = errorGuard<HttpProblemError>('SLUICE_GATEWAY_HTTP');

export const badRequest = (detail: string, problem = 'bad-request'): HttpProblemError =>
  new HttpProblemError(400, problem, detail);

/**
 * undici refuses to send a request it cannot encode (a header value with a character past
 * U+00FF, a control character) before any byte leaves: the request, not the upstream, is
 * at fault. Such a value comes from the client's input through a filter or a token claim.
 */
export function unsendableRequest(error: unknown): HttpProblemError | undefined {
  if ((error as { code?: unknown } | null)?.code !== 'UND_ERR_INVALID_ARG') return undefined;
  return new HttpProblemError(
    400,
    'unsendable-request',
    'The request has a header or target that cannot be forwarded',
    {},
    { cause: error },
  );
}

export const isUnsendableRequest = (e: unknown): e is HttpProblemError =>
  isHttpProblemError(e) && e.problem === 'unsendable-request';
