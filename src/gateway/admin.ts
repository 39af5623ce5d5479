import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { isConfigError } from '../core/errors.js';
import { metricsHandler } from '../observe/index.js';
import type { Gateway } from './gateway.js';
import { parseListen } from './listen.js';
import { PROBLEM_BASE } from './problem.js';

export interface AdminOptions {
  listen: string | number;
  /** Every call but `/healthz` and `/metrics` must carry `Authorization: Bearer <token>`. */
  token: string;
  gateway: Gateway;
  /** What `POST /reload` does: usually re-read the configuration file. */
  reload?: () => Promise<void>;
  registry?: Registry;
}

export interface AdminServer {
  readonly url: string;
  close(): Promise<void>;
}

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

function json(
  res: ServerResponse,
  status: number,
  value: unknown,
  type = 'application/json',
): void {
  const body = JSON.stringify(value, null, 2);
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}

function problem(
  res: ServerResponse,
  status: number,
  kind: string,
  detail: string,
  extra: object = {},
): void {
  json(
    res,
    status,
    { type: PROBLEM_BASE + kind, status, detail, ...extra },
    'application/problem+json',
  );
}

/** Reads the live state of the gateway's current configuration. */
function views(gateway: Gateway): Record<string, () => unknown> {
  return {
    '/routes': () =>
      gateway.runtime.routes.map(({ name, config, upstream }) => ({
        name,
        path: config.path,
        hosts: config.hosts ?? null,
        methods: config.methods ?? null,
        upstream,
        auth: config.auth ?? 'none',
        rateLimit: config.rateLimit ?? null,
        cache: config.cache !== undefined,
      })),
    '/upstreams': () => [...gateway.runtime.upstreams.values()].map((u) => u.toJSON()),
    '/breakers': () =>
      [...gateway.runtime.policies].map(([route, { breaker, bulkhead, concurrency }]) => ({
        route,
        breaker: breaker ? { name: breaker.name, ...breaker.toJSON(), state: breaker.state } : null,
        bulkhead: bulkhead ? bulkhead.stats() : null,
        concurrency: concurrency ? { name: concurrency.name, ...concurrency.stats() } : null,
      })),
    '/limits': () => ({
      shedding: gateway.runtime.shedder?.toJSON() ?? null,
      rateLimits: [...gateway.runtime.limiters].map(([name, info]) => ({
        name,
        route: info.route,
        by: info.by,
        limit: info.limit,
        store: info.store,
        keys: 'size' in info.limiter ? (info.limiter as { size: number }).size : null,
      })),
    }),
  };
}

/** The admin API, on its own listener so it is never exposed with the public routes. */
export async function startAdmin(options: AdminOptions): Promise<AdminServer> {
  const expected = digest(`Bearer ${options.token}`);
  const metrics = metricsHandler(options.registry);
  const routes = views(options.gateway);

  const authorised = (req: IncomingMessage): boolean => {
    const header = req.headers.authorization;
    return typeof header === 'string' && timingSafeEqual(digest(header), expected);
  };

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === '/healthz') {
      json(res, 200, { status: 'ok', inflight: options.gateway.inflight });
      return;
    }
    if (path === '/metrics') {
      void metrics(req, res);
      return;
    }
    if (!authorised(req)) {
      res.setHeader('www-authenticate', 'Bearer');
      problem(res, 401, 'unauthenticated', 'The admin API needs the admin token');
      return;
    }
    if (path === '/reload') {
      if (req.method !== 'POST') {
        res.setHeader('allow', 'POST');
        problem(res, 405, 'method-not-allowed', 'Use POST');
        return;
      }
      if (!options.reload) {
        problem(res, 501, 'not-supported', 'This gateway has no configuration source to reload');
        return;
      }
      options.reload().then(
        () => json(res, 200, { reloaded: true, routes: options.gateway.runtime.routes.length }),
        (error: unknown) => {
          const detail = error instanceof Error ? error.message : String(error);
          const extra = isConfigError(error) ? { problems: error.problems } : {};
          problem(res, 400, 'invalid-config', `Kept the running configuration: ${detail}`, extra);
        },
      );
      return;
    }
    const view = routes[path];
    if (!view || req.method !== 'GET') {
      problem(
        res,
        404,
        'not-found',
        'Try /routes, /upstreams, /breakers, /limits, /reload, /metrics',
      );
      return;
    }
    json(res, 200, view());
  });
  const { host, port } = parseListen(options.listen, 9080);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port: bound } = server.address() as AddressInfo;
  return {
    url: `http://${address.includes(':') ? `[${address}]` : address}:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
