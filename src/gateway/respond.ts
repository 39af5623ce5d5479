import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { stripConnectionHeaders } from './http2.js';
import { PROBLEM_BASE } from './problem.js';
import type { GatewayResponse } from './types.js';

/**
 * Writes a gateway response; a streaming body is piped and destroyed if the client leaves.
 * `failed` hears of a response that could not be sent whole: an invalid upstream header, a
 * body that failed part way.
 */
export function send(
  res: ServerResponse,
  response: GatewayResponse,
  failed?: (error: Error) => void,
): void {
  const body = response.body;
  if (res.req.httpVersionMajor === 2) stripConnectionHeaders(response.headers);
  try {
    res.writeHead(response.status, response.headers);
  } catch (error) {
    // The upstream sent a header node:http refuses to repeat (bad characters).
    if (body instanceof Readable) body.destroy();
    failed?.(error as Error);
    const text = problemText(502, 'bad-gateway', 'The upstream sent an invalid response');
    res.writeHead(502, {
      'content-type': 'application/problem+json',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
    return;
  }
  if (body === null) res.end();
  else if (body instanceof Readable) pipe(body, res, failed);
  else res.end(body);
}

/**
 * `body.pipe(res)` with the error handling pipeline() would add, without its per-call
 * AbortController: a failing body cuts the response, a client leaving destroys the body.
 */
function pipe(body: Readable, res: ServerResponse, failed?: (error: Error) => void): void {
  if (body.destroyed) {
    // It failed (or was cut) before anyone listened: nothing whole is left to send.
    if (body.errored) failed?.(body.errored);
    res.destroy();
    return;
  }
  body.once('error', (error) => {
    // The client leaving destroys the body too: that is no failure of the upstream's.
    if (!res.destroyed) failed?.(error);
    res.destroy();
  });
  res.once('close', () => {
    if (!body.readableEnded) body.destroy();
  });
  body.pipe(res);
}

function problemText(status: number, problem: string, detail: string): string {
  return JSON.stringify({ type: PROBLEM_BASE + problem, status, detail });
}

const reasons: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
};

/** The answer to a request node:http could not parse: a problem, then the socket closes. */
export function rejectConnection(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  let status = 400;
  let problem = 'malformed-request';
  let detail = 'The request is not valid HTTP/1.1';
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    status = 431;
    problem = 'headers-too-large';
    detail = 'The request headers are too large';
  } else if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    status = 408;
    problem = 'request-timeout';
    detail = 'The request was not received in time';
  } else if (
    error.code === 'HPE_UNEXPECTED_CONTENT_LENGTH' ||
    error.code === 'HPE_INVALID_TRANSFER_ENCODING'
  ) {
    detail = 'Conflicting Content-Length and Transfer-Encoding';
  }
  const body = problemText(status, problem, detail);
  socket.end(
    `HTTP/1.1 ${status} ${reasons[status]}\r\ncontent-type: application/problem+json\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
  socket.destroySoon();
}
