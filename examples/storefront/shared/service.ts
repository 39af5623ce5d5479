import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import {
  bridgeMetrics,
  collectProcessMetrics,
  createLogger,
  extractContext,
  type Logger,
  metricsHandler,
  setupTracing,
  type Tracing,
  withSpan,
} from 'sluice/observe';

/**
 * Serves a request: resolves with the route it served, as a template (`/api/orders/:id`),
 * or false when none matched. The template names the request's span, as OpenTelemetry's
 * HTTP conventions ask: a name per route, not per id.
 */
export type Route = (
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
) => Promise<string | false>;

export interface ServiceOptions {
  name: string;
  route: Route;
  /** Runs once the listener has closed, before the process exits. */
  onStop?: () => Promise<void> | void;
}

export interface RunningService {
  logger: Logger;
  /**
   * Start-up work (a subscribe, say) that a stop arriving meanwhile cuts short, by closing
   * what it uses: its failure then is expected, and it resolves to undefined.
   */
  unlessStopped<T>(work: Promise<T>): Promise<T | undefined>;
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

/**
 * Traces go where the supervisor points the standard OpenTelemetry variables (its
 * telemetry store, under `sluice up`); without them, no tracing.
 */
function startTracing(name: string): Tracing | undefined {
  if (!process.env.OTEL_EXPORTER_OTLP_ENDPOINT) return undefined;
  const ratio = Number(process.env.OTEL_TRACES_SAMPLER_ARG ?? 1);
  return setupTracing({
    serviceName: process.env.OTEL_SERVICE_NAME || name,
    sampleRatio: ratio >= 0 && ratio <= 1 ? ratio : 1,
  });
}

/** The frame every storefront service shares: PORT, /healthz, /metrics, logs, traces, SIGTERM. */
export function serve(options: ServiceOptions): RunningService {
  const logger = createLogger({ name: options.name });
  const tracing = startTracing(options.name);
  const metrics = metricsHandler();
  // Breaker states, retries and bulkhead rejections show up on /metrics, beside the
  // process's CPU, memory and event-loop figures.
  bridgeMetrics();
  collectProcessMetrics();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (url.pathname === '/metrics') return void metrics(req, res);
    // A SERVER span in the caller's trace, so the messages this request publishes, and
    // the calls it makes, continue it.
    void withSpan(
      req.method ?? 'GET',
      async (span) => {
        try {
          const route = await options.route(req, res, url);
          if (route === false) sendJson(res, 404, { title: 'not found' });
          else {
            span.updateName(`${req.method} ${route}`);
            span.setAttribute('http.route', route);
          }
        } catch (error) {
          logger.error({ err: error }, 'request failed');
          if (!res.headersSent) sendJson(res, 500, { title: 'internal error' });
          else res.destroy();
        }
        span.setAttribute('http.response.status_code', res.statusCode);
        if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      },
      {
        kind: SpanKind.SERVER,
        parent: extractContext(req.headers),
        attributes: { 'http.request.method': req.method ?? 'GET', 'url.path': url.pathname },
      },
    );
  });
  server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
    logger.info({ port: process.env.PORT }, `${options.name} listening`);
  });
  let stopping = false;
  const stop = (): void => {
    stopping = true;
    logger.info('stopping');
    server.close(() => {
      Promise.resolve(options.onStop?.())
        .catch((error: unknown) => logger.error({ err: error }, 'stop failed'))
        .then(() => tracing?.shutdown())
        .catch(() => {})
        .finally(() => process.exit(0));
    });
    server.closeIdleConnections();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return {
    logger,
    unlessStopped: (work) =>
      work.catch((error: unknown) => {
        if (stopping) return undefined;
        throw error;
      }),
  };
}
