// Preloaded into a process under a benchmark (`node --expose-gc --import ./memory-probe.mjs
// …`) with MEMORY_PROBE_PORT set: a loopback HTTP server that answers `GET /memory` with
// process.memoryUsage() after a full GC (the live heap, not the garbage not yet collected),
// and `POST /snapshot?to=FILE` by writing a heap snapshot there (the process stands still
// meanwhile). Its own server is unref'd: it never keeps the process alive.
import { createServer } from 'node:http';
import { writeHeapSnapshot } from 'node:v8';

const port = Number(process.env.MEMORY_PROBE_PORT);
if (!(port > 0)) throw new Error('memory-probe: MEMORY_PROBE_PORT is not set');
// The children of the process must not start a probe of their own on the same port.
delete process.env.MEMORY_PROBE_PORT;

const server = createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://probe');
  try {
    if (request.method === 'GET' && url.pathname === '/memory') {
      globalThis.gc?.();
      response.setHeader('content-type', 'application/json');
      return response.end(JSON.stringify(process.memoryUsage()));
    }
    const to = url.searchParams.get('to');
    if (request.method === 'POST' && url.pathname === '/snapshot' && to) {
      globalThis.gc?.();
      return response.end(writeHeapSnapshot(to));
    }
    response.statusCode = 404;
    response.end();
  } catch (error) {
    response.statusCode = 500;
    response.end(String(error));
  }
});
server.on('error', (error) => process.stderr.write(`memory-probe: ${error.message}\n`));
server.listen(port, '127.0.0.1');
server.unref();
