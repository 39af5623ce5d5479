import { createServer } from 'node:http';
import { listen } from '../../src/runtime/ports.js';

export interface OtlpCollector {
  url: string;
  /** Every request body, in arrival order, with the path it was posted to. */
  received: { path: string; body: Buffer }[];
  close(): void;
}

/** A stand-in OTLP/HTTP collector on a free loopback port that keeps what it is sent. */
export async function startOtlpCollector(): Promise<OtlpCollector> {
  const received: OtlpCollector['received'] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body: Buffer.concat(chunks) });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  const url = `http://127.0.0.1:${await listen(server, 0, '127.0.0.1')}`;
  return { url, received, close: () => server.close() };
}
