import type { IncomingMessage, ServerResponse } from 'node:http';
import { logFilterOf, logLines } from './pages/logs.js';
import type { DashboardSources } from './sources.js';

export interface EventStreamOptions {
  /** How often the live parts of the page are refreshed. */
  tickMs: number;
  /** How often a log tail looks for new lines. */
  tailMs: number;
}

/**
 * The one Server-Sent Events stream of a tab. Every page gets `tick`, on which its live
 * parts fetch themselves again; with `tail=logs` it also gets `log` events carrying the
 * new lines (as table rows) matching the page's filters, each with its cursor as the event
 * id, so a reconnect resumes from `Last-Event-ID` without a gap or a repeat.
 */
export function serveEvents(
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
  sources: DashboardSources,
  options: EventStreamOptions,
): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-content-type-options': 'nosniff',
  });
  res.write('retry: 2000\n\n');
  const timers: NodeJS.Timeout[] = [];
  let ticks = 0;
  timers.push(setInterval(() => res.write(`event: tick\ndata: ${++ticks}\n\n`), options.tickMs));
  if (query.get('tail') === 'logs') {
    const resumed = Number(req.headers['last-event-id'] ?? query.get('after') ?? 0);
    let cursor = Number.isSafeInteger(resumed) && resumed >= 0 ? resumed : 0;
    const filter = logFilterOf(query);
    timers.push(
      setInterval(() => {
        const store = sources.telemetry();
        if (store === undefined) return;
        const page = store.logs({ ...filter, after: cursor, limit: 200 });
        if (page.records.length === 0) return;
        cursor = page.tail;
        const rows = logLines(page.records.reverse()).text;
        const data = rows
          .split('\n')
          .map((line) => `data: ${line}`)
          .join('\n');
        res.write(`event: log\nid: ${cursor}\n${data}\n\n`);
      }, options.tailMs),
    );
  }
  const close = (): void => {
    for (const timer of timers) clearInterval(timer);
  };
  req.once('close', close);
  res.once('close', close);
  res.on('error', close);
}
