import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { bridgeMetrics, createLogger, type Logger, metricsHandler } from 'sluice/observe';

export type Route = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean>;

export interface ServiceOptions {
  name: string;
  route: Route;
  /** Runs once the listener has closed, before the process exits. */
  onStop?: () => Promise<void> | void;
}

export interface RunningService {
  logger: Logger;
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

export async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? {} : JSON.parse(text);
}

/** The frame every storefront service shares: PORT, /healthz, /metrics, logs, SIGTERM. */
export function serve(options: ServiceOptions): RunningService {
  const logger = createLogger({ name: options.name });
  const metrics = metricsHandler();
  // Breaker states, retries and bulkhead rejections show up on /metrics.
  bridgeMetrics();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (url.pathname === '/metrics') return void metrics(req, res);
    options
      .route(req, res, url)
      .then((handled) => {
        if (!handled) sendJson(res, 404, { title: 'not found' });
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, 'request failed');
        if (!res.headersSent) sendJson(res, 500, { title: 'internal error' });
        else res.destroy();
      });
  });
  server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
    logger.info({ port: process.env.PORT }, `${options.name} listening`);
  });
  const stop = (): void => {
    logger.info('stopping');
    server.close(() => {
      Promise.resolve(options.onStop?.())
        .catch((error: unknown) => logger.error({ err: error }, 'stop failed'))
        .finally(() => process.exit(0));
    });
    server.closeIdleConnections();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return { logger };
}
