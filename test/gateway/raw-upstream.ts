import { type AddressInfo, createServer, type Socket } from 'node:net';

/** A request head as a raw upstream reads it: lower-cased header names, one value each. */
export interface RawRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
}

export interface RawUpstream {
  url: string;
  /** Every request head it read, in order. */
  seen: RawRequest[];
  close(): Promise<void>;
}

/**
 * An upstream that writes whatever bytes `answer` writes on the socket: wrong lengths,
 * resets mid-body, bodies on a 304. Requests are read head by head (none of the tests send
 * a body), so keep-alive connections work as long as `answer` frames its replies.
 */
export async function startRawUpstream(
  answer: (request: RawRequest, socket: Socket) => void,
): Promise<RawUpstream> {
  const seen: RawRequest[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffered = '';
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      for (let end = buffered.indexOf('\r\n\r\n'); end >= 0; end = buffered.indexOf('\r\n\r\n')) {
        const [line = '', ...fields] = buffered.slice(0, end).split('\r\n');
        buffered = buffered.slice(end + 4);
        const [method = '', url = ''] = line.split(' ');
        const headers: Record<string, string> = {};
        for (const field of fields) {
          const colon = field.indexOf(':');
          headers[field.slice(0, colon).trim().toLowerCase()] = field.slice(colon + 1).trim();
        }
        const request = { method, url, headers };
        seen.push(request);
        if (!socket.destroyed) answer(request, socket);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** An HTTP/1.1 response head with the given fields, `\r\n\r\n` included. */
export function head(status: string, fields: Record<string, string | string[]>): string {
  const lines = [`HTTP/1.1 ${status}`];
  for (const [name, value] of Object.entries(fields)) {
    for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v}`);
  }
  return `${lines.join('\r\n')}\r\n\r\n`;
}
