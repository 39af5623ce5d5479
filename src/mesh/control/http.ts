import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidArgumentError, isSluiceError } from '../../core/errors.js';
import { problemResponse } from '../../gateway/problem.js';
import { send } from '../../gateway/respond.js';

const MAX_BODY_BYTES = 16 * 1024;

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = status === 204 ? null : JSON.stringify(value);
  const headers: Record<string, string | number> = { 'cache-control': 'no-store' };
  if (body !== null) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = Buffer.byteLength(body);
  }
  send(res, { status, headers, body });
}

/** A problem+json answer whose `code` is the stable SLUICE_* code a client can match on. */
export function sendProblem(
  res: ServerResponse,
  status: number,
  code: string,
  detail: string,
  headers: Record<string, string> = {},
): void {
  const slug = code
    .replace(/^SLUICE_/, '')
    .toLowerCase()
    .replaceAll('_', '-');
  send(res, problemResponse(status, slug, detail, headers, undefined, { code }));
}

const statusOf: Record<string, number> = {
  SLUICE_INVALID_ARGUMENT: 400,
  SLUICE_MESH_CSR_INVALID: 400,
  SLUICE_MESH_TOKEN_INVALID: 401,
  SLUICE_MESH_FORBIDDEN: 403,
  SLUICE_MESH_NOT_REGISTERED: 404,
};

/** Maps what a handler threw to its problem; an engine failure is a 503 worth retrying. */
export function sendError(res: ServerResponse, error: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const status = isSluiceError(error) ? statusOf[error.code] : undefined;
  if (status !== undefined && isSluiceError(error)) {
    const headers: Record<string, string> =
      status === 401 ? { 'www-authenticate': 'Bearer realm="sluice-mesh"' } : {};
    sendProblem(res, status, error.code, error.message, headers);
    return;
  }
  sendProblem(res, 503, 'SLUICE_ENGINE_UNAVAILABLE', 'The registry store is not answering', {
    'retry-after': '1',
  });
}

/** The request's JSON body (16 KiB at most), or InvalidArgumentError. */
export function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    // Past the limit the rest is read and dropped (the server's request timeout bounds
    // it), so the client still gets its answer rather than a cut connection.
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
      else if (chunks.length > 0) {
        chunks.length = 0;
        reject(invalid(`the body is larger than ${MAX_BODY_BYTES} bytes`));
      }
    });
    req.on('error', reject);
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null'));
      } catch {
        reject(invalid('the body is not JSON'));
      }
    });
  });
}

const invalid = (message: string) => new InvalidArgumentError(message);

/** The bearer token of a request, if it sent one. */
export function bearer(req: IncomingMessage): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  return match?.[1];
}
