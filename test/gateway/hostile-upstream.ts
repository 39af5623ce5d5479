import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';

/** What the upstream does with a connection once a request's head has arrived. */
export type Misbehaviour = (socket: Socket, head: string) => void;

export interface HostileUpstream {
  url: string;
  /** The behaviour for requests from now on; a well-formed `200 ok` by default. */
  behave(misbehaviour: Misbehaviour): void;
  close(): Promise<void>;
}

export const wellBehaved: Misbehaviour = (socket) =>
  socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');

/**
 * An upstream that is a raw TCP server writing whatever bytes a test tells it to, so the
 * gateway can be shown status lines, lengths, headers and framings no HTTP library sends.
 * Every connection's errors are swallowed: its misbehaviour is the point.
 */
export async function startHostileUpstream(): Promise<HostileUpstream> {
  let current: Misbehaviour = wellBehaved;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => sockets.delete(socket));
    let buffered = '';
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buffered.slice(0, end);
      buffered = buffered.slice(end + 4);
      current(socket, head);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    behave: (misbehaviour) => {
      current = misbehaviour;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
