import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpListener } from '../runtime/http-listener.js';
import { type ActionResult, runAction } from './actions.js';
import { assetAt } from './assets.js';
import { type EventStreamOptions, serveEvents } from './events.js';
import { hasToken, refusal } from './guard.js';
import { html } from './html.js';
import { documentHead, PAGES, type PageName } from './layout.js';
import type { Page, PageContext } from './page.js';
import { gatewayPage } from './pages/gateway.js';
import { logsPage } from './pages/logs.js';
import { policiesPage } from './pages/policies.js';
import { queuesPage } from './pages/queues.js';
import { servicesPage } from './pages/services.js';
import { topologyPage } from './pages/topology.js';
import { tracePage } from './pages/trace.js';
import { tracesPage } from './pages/traces.js';
import { sendAsset, sendHtml, sendPage, sendText } from './reply.js';
import type { DashboardSources } from './sources.js';

export const DEFAULT_DASHBOARD_PORT = 9467;

export interface DashboardOptions {
  sources: DashboardSources;
  /** 0 takes any free port. Default 9467. */
  port?: number;
  /** Actions (replay, delete, fault, restart) need it as a bearer token. Default: random. */
  token?: string | undefined;
  events?: Partial<EventStreamOptions>;
}

const PAGE_VIEWS: Record<PageName, Page> = {
  traces: tracesPage,
  logs: logsPage,
  services: servicesPage,
  queues: queuesPage,
  topology: topologyPage,
  policies: policiesPage,
  gateway: gatewayPage,
};
const PAGE_TITLES = new Map<string, string>(PAGES);

/**
 * The web dashboard: server-rendered pages over the telemetry store, the supervisor's
 * control API and the messaging engine, on 127.0.0.1 only. Reading needs nothing; actions
 * need the token.
 */
export class DashboardServer extends HttpListener {
  readonly token: string;

  constructor(options: DashboardOptions) {
    const token = options.token ?? randomBytes(18).toString('base64url');
    const events: EventStreamOptions = { tickMs: 2_000, tailMs: 1_000, ...options.events };
    super({
      name: 'dashboard',
      host: '127.0.0.1',
      port: options.port ?? DEFAULT_DASHBOARD_PORT,
      handler: (req, res) => {
        res.on('error', () => {});
        handle(req, res, options.sources, token, events).catch((error: unknown) => {
          if (res.headersSent) {
            res.destroy();
            return;
          }
          const message = error instanceof Error ? error.message : String(error);
          sendHtml(req, res, 500, html`<p class="badge err">${message}</p>`.text);
        });
      },
    });
    this.token = token;
  }

  get url(): string | undefined {
    return this.origin;
  }
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  sources: DashboardSources,
  token: string,
  events: EventStreamOptions,
): Promise<void> {
  const refused = refusal(req);
  if (refused !== undefined) return sendText(res, 403, `${refused}\n`);
  const url = new URL(req.url ?? '/', 'http://localhost');
  const path = url.pathname;
  const method = req.method ?? 'GET';

  if (path.startsWith('/actions/')) {
    if (method !== 'POST') return sendText(res, 405, 'Use POST\n', { allow: 'POST' });
    if (!hasToken(req, token)) {
      return sendHtml(
        req,
        res,
        401,
        resultHtml({
          ok: false,
          message: 'Actions need the control token: enter it at the top of the page.',
        }),
      );
    }
    const result = await runAction(path.slice('/actions/'.length), await formOf(req), sources);
    return sendHtml(req, res, result.ok ? 200 : 400, resultHtml(result));
  }
  if (method !== 'GET' && method !== 'HEAD')
    return sendText(res, 405, 'Use GET\n', { allow: 'GET, HEAD' });

  if (path === '/') {
    res.writeHead(302, { location: '/traces' }).end();
    return;
  }
  if (path === '/favicon.ico') {
    res.writeHead(204, { 'cache-control': 'max-age=86400' }).end();
    return;
  }
  const asset = assetAt(path);
  if (asset !== undefined) return sendAsset(req, res, asset);
  if (path === '/events') return serveEvents(req, res, url.searchParams, sources, events);

  const context: PageContext = { sources, query: url.searchParams, now: Date.now() };
  const [, first, second] = path.split('/');
  if (first !== undefined && PAGE_TITLES.has(first)) {
    const page = PAGE_VIEWS[first as PageName];
    if (second === undefined) {
      const head = documentHead(first as PageName, PAGE_TITLES.get(first)!, {
        charts: page.charts === true,
      });
      return sendPage(req, res, head, () => page.full(context));
    }
    if (second === 'live' && path.split('/').length === 3) {
      return sendHtml(req, res, 200, (await page.live(context)).text);
    }
    const part =
      second !== undefined && page.parts !== undefined && Object.hasOwn(page.parts, second)
        ? page.parts[second]
        : undefined;
    if (part !== undefined && path.split('/').length === 3) {
      return sendHtml(req, res, 200, (await part(context)).text);
    }
    if (first === 'traces' && path.split('/').length === 3) {
      const trace = tracePage(sources.telemetry(), second);
      if (trace !== undefined) return sendHtml(req, res, 200, trace.text);
      return sendHtml(req, res, 404, html`<p>No trace ${second} in the store.</p>`.text);
    }
  }
  sendText(res, 404, 'Not found\n');
}

function resultHtml(result: ActionResult): string {
  return html`<p class="result badge ${result.ok ? 'ok' : 'err'}">${result.message}</p>`.text;
}

const MAX_FORM_BYTES = 256 * 1024;

/** An urlencoded form body, bounded. */
async function formOf(req: IncomingMessage): Promise<URLSearchParams> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw new Error('The form is too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}
