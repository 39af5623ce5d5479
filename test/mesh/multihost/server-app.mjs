// The server app of the several-hosts test: on loopback inside its host, it answers every
// request with the name of its host.
import { createServer } from 'node:http';

const host = process.env.HOST_NAME ?? 'unknown';
const server = createServer((req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ host }));
});
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening'));
process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
