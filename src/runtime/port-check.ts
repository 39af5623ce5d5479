import { createServer } from 'node:net';
import { formatPath } from '../core/index.js';
import type { DeclaredPort } from './config/index.js';
import { PortsUnavailableError } from './errors.js';
import { describeHolder } from './port-holder.js';
import { listen } from './ports.js';

/**
 * Binds every fixed port of the file for a moment, before anything starts, and throws one
 * PortsUnavailableError naming each port that cannot be had, where the file asks for it and,
 * where the system can tell, which process holds it. Another process could still take a
 * port in between; the instance's health check then notices it is not answering itself.
 */
export async function checkPorts(ports: readonly DeclaredPort[]): Promise<void> {
  const problems: string[] = [];
  for (const declared of ports) {
    for (let port = declared.first; port <= declared.last; port++) {
      const why = await unavailable(declared.host, port);
      if (why === undefined) continue;
      problems.push(`port ${port} (${formatPath(declared.segments)}) ${why}`);
    }
  }
  if (problems.length > 0) throw new PortsUnavailableError(problems);
}

async function unavailable(host: string, port: number): Promise<string | undefined> {
  const server = createServer();
  try {
    await listen(server, port, host);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      const holder = await describeHolder(port);
      return holder === undefined ? 'is in use' : `is in use by ${holder}`;
    }
    if (code === 'EACCES') return 'needs privileges this user does not have';
    if (code === 'EADDRNOTAVAIL') return `cannot be bound: ${host} is not an address of this host`;
    return `cannot be bound: ${error instanceof Error ? error.message : String(error)}`;
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
