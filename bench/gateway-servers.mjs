// The servers of the gateway benchmark, one per process so that each proxy's CPU can be
// read from /proc on its own: node gateway-servers.mjs ROLE PORT [UPSTREAM] [MODE] [MODULE]
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';

export const SECRET = 'bench-secret-bench-secret-bench-secret';

/** An HS256 token the `jwt` and `full` gateway modes accept. */
export function benchToken() {
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const payload = { sub: 'bench-user', iss: 'bench', exp: Math.floor(Date.now() / 1000) + 3600 };
  const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(payload)}`;
  return `${head}.${createHmac('sha256', SECRET).update(head).digest('base64url')}`;
}

const BODY = Buffer.from('{"ok":true,"items":[1,2,3]}');

function upstream(port) {
  return new Promise((resolve) => {
    createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': BODY.length });
      res.end(BODY);
    }).listen(port, '127.0.0.1', resolve);
  });
}

async function bare(port, origin) {
  const { Pool } = await import('undici');
  const pool = new Pool(origin, { connections: 128, pipelining: 1 });
  await new Promise((resolve) => {
    createServer(async (req, res) => {
      try {
        const up = await pool.request({
          method: req.method,
          path: req.url,
          headers: { ...req.headers, connection: undefined, host: undefined },
          body: req.method === 'GET' || req.method === 'HEAD' ? null : req,
        });
        res.writeHead(up.statusCode, up.headers);
        up.body.pipe(res);
      } catch {
        res.writeHead(502).end();
      }
    }).listen(port, '127.0.0.1', resolve);
  });
}

async function fastify(port, origin) {
  const { default: Fastify } = await import('fastify');
  const { default: proxy } = await import('@fastify/http-proxy');
  const app = Fastify({ logger: false });
  await app.register(proxy, { upstream: origin, prefix: '/' });
  await app.listen({ port, host: '127.0.0.1' });
}

/**
 * The adaptive concurrency limit stays on, as by default, with a floor above the benchmark's
 * 32 connections: the rows measure what the limit costs per call, not its refusals. (On a
 * busy machine the gradient limit reads the gateway's own queueing as the upstream's and
 * refused up to a third of the benchmark's requests to an nginx that was not loaded.)
 */
export const BENCH_CONCURRENCY = { min: 64 };

/** Our gateway with no filters, one filter (`jwt`, `rateLimit`, `metrics`, `tracing`) or all. */
async function sluice(port, origin, mode, source) {
  const on = (feature) => mode === 'full' || mode === feature;
  if (on('tracing')) {
    const observe = await import(new URL('../observe/index.js', `file://${source}`).href);
    observe.setupTracing({
      serviceName: 'bench-gateway',
      sampleRatio: 0.1,
      // As `sluice up` runs the gateway: contexts passed explicitly, no AsyncLocalStorage.
      activeContext: false,
      exporter: { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} },
    });
  }
  const { Gateway } = await import(source);
  await Gateway.start({
    listen: `127.0.0.1:${port}`,
    metrics: on('metrics'),
    tracing: on('tracing'),
    accessLog: false,
    shedding: false,
    auth: on('jwt') ? { jwt: { algorithms: ['HS256'], secret: SECRET, issuer: 'bench' } } : {},
    routes: [
      {
        path: '/*',
        upstream: origin,
        resilience: { concurrency: BENCH_CONCURRENCY },
        ...(on('jwt') ? { auth: 'jwt' } : {}),
        ...(on('rateLimit') ? { rateLimit: { by: 'subject', limit: '1000000/s' } } : {}),
      },
    ],
  });
}

const roles = { upstream, bare, fastify, sluice };
const [role, port, origin, mode, source] = process.argv.slice(2);
if (roles[role]) {
  process.once('SIGTERM', () => process.exit(0));
  // Never outlive the benchmark that started us.
  process.once('disconnect', () => process.exit(0));
  await roles[role](Number(port), origin, mode, source);
  process.send?.('ready');
}
