import type { IncomingMessage, ServerResponse } from 'node:http';
import { createGunzip } from 'node:zlib';
import protobuf from 'protobufjs';
import {
  decodeOtlp,
  encodingOf,
  type OtlpEncoding,
  OtlpPayloadError,
  type OtlpSignal,
} from './otlp-decode.js';
import { logsOf, samplesOf, spansOf } from './otlp-records.js';
import type { TelemetryStore } from './store.js';

export interface OtlpReceiverOptions {
  store: TelemetryStore;
  /** Also sends every accepted request, as received, to an external collector. */
  forward?: (signal: OtlpSignal, body: Buffer, contentType: string) => void;
  /** Largest request body, after decompression; larger gets 413. Default 20 MiB. */
  maxBodyBytes?: number;
}

export const DEFAULT_MAX_OTLP_BODY = 20 * 1024 * 1024;

const PATHS: Record<string, OtlpSignal> = {
  '/v1/traces': 'traces',
  '/v1/logs': 'logs',
  '/v1/metrics': 'metrics',
};

/** google.rpc.Status, the body of an OTLP error response. */
const Status = new protobuf.Type('Status')
  .add(new protobuf.Field('code', 1, 'int32'))
  .add(new protobuf.Field('message', 2, 'string'));
const INVALID_ARGUMENT = 3;

class TooLarge extends Error {}

/**
 * OTLP/HTTP: `POST /v1/traces`, `/v1/logs` and `/v1/metrics`, protobuf or JSON, gzip or
 * not. Answers in the request's encoding: an empty export response on success, a Status
 * with 400 for a payload that does not decode (nothing of it is stored), 413 past the
 * size cap, 415 for another content type.
 */
export function otlpHandler(
  options: OtlpReceiverOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const maxBytes = options.maxBodyBytes ?? DEFAULT_MAX_OTLP_BODY;
  return (req, res) => {
    req.on('error', () => res.destroy());
    res.on('error', () => {});
    const signal = PATHS[new URL(req.url ?? '/', 'http://x').pathname];
    if (signal === undefined) return void reply(res, 404, 'json', 'Not found');
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return void reply(res, 405, 'json', 'Use POST');
    }
    const encoding = encodingOf(req.headers['content-type']);
    if (encoding === undefined) {
      req.resume();
      return void reply(
        res,
        415,
        'json',
        'Content-Type must be application/x-protobuf or application/json',
      );
    }
    readBody(req, maxBytes)
      .then((body) => {
        ingest(options, signal, body, encoding);
        options.forward?.(signal, body, req.headers['content-type']!);
        reply(res, 200, encoding);
      })
      .catch((error: unknown) => {
        if (error instanceof TooLarge) {
          reply(res, 413, encoding, `Request body exceeds ${maxBytes} bytes`);
          req.destroy();
        } else if (error instanceof OtlpPayloadError) {
          reply(res, 400, encoding, error.message);
        } else {
          reply(res, 400, encoding, error instanceof Error ? error.message : String(error));
        }
      });
  };
}

function ingest(
  options: OtlpReceiverOptions,
  signal: OtlpSignal,
  body: Buffer,
  encoding: OtlpEncoding,
): void {
  const request = decodeOtlp(signal, body, encoding);
  // Convert the whole request before storing any of it: a bad record rejects all.
  if (signal === 'traces') options.store.addSpans(spansOf(request));
  else if (signal === 'logs') options.store.addLogs(logsOf(request));
  else options.store.addSamples(samplesOf(request));
}

function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const gzip = (req.headers['content-encoding'] ?? '').toLowerCase() === 'gzip';
    const declared = Number(req.headers['content-length'] ?? Number.NaN);
    if (!gzip && declared > maxBytes) return reject(new TooLarge());
    const source = gzip ? req.pipe(createGunzip()) : req;
    const chunks: Buffer[] = [];
    let size = 0;
    source.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        source.removeAllListeners('data');
        if (gzip) source.destroy();
        reject(new TooLarge());
        return;
      }
      chunks.push(chunk);
    });
    source.on('end', () => resolve(Buffer.concat(chunks)));
    source.on('error', (error) =>
      reject(new OtlpPayloadError('Request body does not gunzip', { cause: error })),
    );
  });
}

function reply(
  res: ServerResponse,
  status: number,
  encoding: OtlpEncoding,
  message?: string,
): void {
  if (res.headersSent) return;
  if (encoding === 'protobuf') {
    const body =
      message === undefined
        ? Buffer.alloc(0)
        : Buffer.from(Status.encode({ code: INVALID_ARGUMENT, message }).finish());
    res.writeHead(status, { 'content-type': 'application/x-protobuf' }).end(body);
    return;
  }
  const body = message === undefined ? {} : { code: INVALID_ARGUMENT, message };
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
