import { STATUS_CODES } from 'node:http';
import { errors } from 'undici';
import {
  isBulkheadFullError,
  isCircuitOpenError,
  isLoadShedError,
  isRateLimitedError,
  isSluiceError,
  isTimeoutError,
  retryAfterOf,
} from '../core/errors.js';
import { isHttpProblemError, type ProblemExtensions } from './errors.js';
import type { GatewayResponse, ResponseHeaders } from './types.js';

export const PROBLEM_BASE = 'urn:sluice:problem:';

/** Statuses that tell a client to come back later; each always carries Retry-After. */
const RETRY_LATER = new Set([429, 503]);
const DEFAULT_RETRY_AFTER = '1';

/**
 * An RFC 9457 problem response. The body never carries a stack or an internal message. A
 * 429 or 503 without a Retry-After of its own gets one second: a client told "not now"
 * without a when retries at once, which is the load the refusal was meant to avoid.
 */
export function problemResponse(
  status: number,
  problem: string,
  detail: string,
  headers: ResponseHeaders = {},
  instance?: string,
  extensions: ProblemExtensions = {},
): GatewayResponse {
  const body = JSON.stringify({
    type: PROBLEM_BASE + problem,
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail,
    ...(instance === undefined ? {} : { instance }),
    ...extensions,
  });
  return {
    status,
    headers: {
      ...(RETRY_LATER.has(status) && headers['retry-after'] === undefined
        ? { 'retry-after': DEFAULT_RETRY_AFTER }
        : {}),
      ...headers,
      'content-type': 'application/problem+json',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
    },
    body,
  };
}

const retryAfterHeader = (ms: number | undefined): ResponseHeaders =>
  ms === undefined ? {} : { 'retry-after': String(Math.max(1, Math.ceil(ms / 1000))) };

/**
 * Maps anything a filter or the proxy threw to the answer the client gets: the gateway's
 * own problems as they are, resilience outcomes to 503/504/429, connection failures to
 * 502, everything else to a bare 500 with no internals.
 */
export function errorToResponse(error: unknown, requestId: string): GatewayResponse {
  if (isHttpProblemError(error)) {
    return problemResponse(
      error.status,
      error.problem,
      error.detail,
      error.headers,
      requestId,
      error.extensions,
    );
  }
  const retry = retryAfterHeader(retryAfterOf(error));
  if (isTimeoutError(error) || isUndiciTimeout(error)) {
    return problemResponse(
      504,
      'upstream-timeout',
      'The upstream did not answer in time',
      {},
      requestId,
    );
  }
  if (isCircuitOpenError(error)) {
    return problemResponse(
      503,
      'circuit-open',
      'The upstream is failing; try again later',
      retry,
      requestId,
    );
  }
  if (isBulkheadFullError(error)) {
    return problemResponse(
      503,
      'upstream-busy',
      'Too many requests in progress for this upstream',
      retry,
      requestId,
    );
  }
  if (isLoadShedError(error)) {
    return problemResponse(
      503,
      'overloaded',
      'The upstream is at its concurrency limit; try again later',
      retry,
      requestId,
    );
  }
  if (isRateLimitedError(error)) {
    return problemResponse(429, 'rate-limited', 'Too many requests', retry, requestId);
  }
  if (isSluiceError(error, 'SLUICE_GATEWAY_NO_TARGET')) {
    return problemResponse(
      503,
      'no-healthy-upstream',
      'No healthy upstream target',
      retry,
      requestId,
    );
  }
  if (isUpstreamConnectionError(error)) {
    return problemResponse(502, 'bad-gateway', 'The upstream connection failed', {}, requestId);
  }
  if (isUpstreamProtocolError(error)) {
    return problemResponse(
      502,
      'bad-gateway',
      'The upstream sent an invalid response',
      {},
      requestId,
    );
  }
  return problemResponse(500, 'internal', 'Internal gateway error', {}, requestId);
}

function codeOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null
    ? (error as { code?: unknown }).code
    : undefined;
}

function isUndiciTimeout(error: unknown): boolean {
  const code = codeOf(error);
  return (
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT'
  );
}

function isUpstreamConnectionError(error: unknown): boolean {
  const code = codeOf(error);
  // undici's own codes and socket errnos (ECONNREFUSED, ECONNRESET, EPIPE…), not ERR_* bugs.
  return typeof code === 'string' && (code.startsWith('UND_ERR') || /^E[A-Z]+$/.test(code));
}

/** The upstream broke HTTP: undici's parser refused a status line or header, or we did. */
function isUpstreamProtocolError(error: unknown): boolean {
  return (
    error instanceof errors.HTTPParserError || isSluiceError(error, 'SLUICE_GATEWAY_BAD_UPSTREAM')
  );
}
