import { createServer, type Server } from 'node:net';
import { listen } from '../core/listen.js';

export { listen };

/**
 * A port free on `host` right now, found by binding port 0. Another process could take it
 * before the instance binds; the instance then fails its start, and is restarted.
 */
export async function freePort(host: string): Promise<number> {
  const [port] = await freePorts(host, 1);
  return port!;
}

// Every port this process has handed out. The supervisor chooses ports at different times
// (an app's, then its sidecar's once the app's probe is closed, while other services start
// beside it), and the kernel may hand a just-closed port out again: a port given once is
// never given again by this process.
const handedOut = new Set<number>();

/**
 * `count` distinct ports free on `host` right now, none handed out before by this process.
 * Every probe socket stays bound until all are chosen: a port closed early could be handed
 * out again by the next probe.
 */
export async function freePorts(host: string, count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    while (ports.length < count) {
      const server = createServer();
      server.unref();
      servers.push(server);
      const port = await listen(server, 0, host);
      if (!handedOut.has(port)) ports.push(port);
    }
    for (const port of ports) handedOut.add(port);
    return ports;
  } finally {
    await Promise.all(
      servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
    );
  }
}
