import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect, type Socket } from 'node:net';
import { request } from 'undici';
import { isConfigError } from '../../src/core/index.js';

export interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface TestUpstream {
  url: string;
  seen: Seen[];
  server: Server;
  close(): Promise<void>;
}

export type UpstreamHandler = (
  seen: Seen,
  respond: (status: number, headers?: Record<string, string>, body?: string) => void,
) => void;

/** An upstream on 127.0.0.1:0 that records every request and echoes it back as JSON. */
export async function startUpstream(handler?: UpstreamHandler): Promise<TestUpstream> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const entry = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      seen.push(entry);
      const respond = (
        status: number,
        headers: Record<string, string> = {},
        body?: string,
      ): void => {
        const text = body ?? JSON.stringify(entry);
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(text);
      };
      if (handler) handler(entry, respond);
      else respond(200);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: () => Record<string, unknown>;
}

export async function call(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  const res = await request(url, {
    method: (options.method ?? 'GET') as 'GET',
    headers: options.headers ?? {},
    body: options.body ?? null,
  });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    headers: res.headers,
    text,
    json: () => JSON.parse(text) as Record<string, unknown>,
  };
}

/** Sends raw bytes and resolves with everything the server wrote before closing or `idleMs`. */
export function raw(port: number, payload: string, idleMs = 500): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      data += chunk;
    });
    socket.setTimeout(idleMs, () => {
      socket.destroy();
      resolve(data);
    });
    socket.on('close', () => resolve(data));
    socket.on('error', (e) => (data ? resolve(data) : reject(e)));
    socket.write(payload);
  });
}

export function statusOf(response: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);
}

/**
 * Awaits a config load that must fail and returns its problems as `line path: message`
 * lines; fails the test if it loads or fails with anything but a config error.
 */
export async function configProblems(loading: Promise<unknown>): Promise<string[]> {
  try {
    await loading;
  } catch (error) {
    assert.ok(isConfigError(error), `expected a config error, got ${String(error)}`);
    return error.problems.map((p) => `${p.line} ${p.path}: ${p.message}`);
  }
  assert.fail('the config loaded, but it should have been refused');
}

/**
 * A raw connection whose answers can be awaited: `until(pattern)` resolves once everything
 * read so far matches, and returns it.
 */
export function rawSession(port: number): {
  socket: Socket;
  until: (pattern: RegExp) => Promise<string>;
} {
  const socket = connect({ host: '127.0.0.1', port });
  socket.setEncoding('utf8');
  let data = '';
  const until = (pattern: RegExp): Promise<string> =>
    new Promise((resolve) => {
      const check = (): void => {
        if (pattern.test(data)) resolve(data);
        else
          socket.once('data', (chunk: string) => {
            data += chunk;
            check();
          });
      };
      check();
    });
  return { socket, until };
}

/**
 * Sends `payload` raw and checks the answer's status, that `upstream` saw nothing, and that
 * the gateway still serves a plain GET afterwards.
 */
export async function refusedRaw(
  gatewayUrl: string,
  upstream: TestUpstream,
  payload: string,
  status: number,
  idleMs?: number,
): Promise<string> {
  const seen = upstream.seen.length;
  const text = await raw(Number(new URL(gatewayUrl).port), payload, idleMs);
  assert.equal(statusOf(text), status, text);
  assert.equal(upstream.seen.length, seen, 'the upstream must not see the request');
  assert.equal((await call(`${gatewayUrl}/still-serving`)).status, 200);
  return text;
}
