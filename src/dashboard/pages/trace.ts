import type {
  LogRecord,
  SpanRecord,
  TelemetryQuery,
  TraceSummary,
} from '../../observe/store/index.js';
import { clock, duration } from '../format.js';
import { type Html, html } from '../html.js';
import { documentBody, documentHead } from '../layout.js';
import { logRows } from './logs.js';

/** Traces joined through queue hops, followed this far at most. */
const MAX_TRACES = 20;

interface Row {
  span: SpanRecord;
  depth: number;
  /** The span starts a trace reached through a link (a queue hop). */
  hop: boolean;
}

/**
 * The trace and every trace linked to it, transitively (a consumer's trace after a queue
 * hop, the producer's before it), as one waterfall: a linked trace's root is drawn under the
 * span it links to.
 */
export function collectTraces(store: TelemetryQuery, traceId: string) {
  const spans: SpanRecord[] = [];
  const seen = new Set<string>();
  const summaries: TraceSummary[] = [];
  const queue = [traceId];
  while (queue.length > 0 && seen.size < MAX_TRACES) {
    const id = queue.shift()!;
    if (seen.has(id)) continue;
    const detail = store.getTrace(id);
    if (detail === undefined) continue;
    seen.add(id);
    spans.push(...detail.spans);
    for (const linked of detail.linked) {
      if (!seen.has(linked.traceId)) {
        summaries.push(linked);
        queue.push(linked.traceId);
      }
    }
  }
  return { spans, traceIds: [...seen], linked: summaries };
}

export function waterfallRows(spans: SpanRecord[]): Row[] {
  const byId = new Map(spans.map((s) => [`${s.traceId}/${s.spanId}`, s]));
  const children = new Map<string, Array<{ span: SpanRecord; hop: boolean }>>();
  const roots: SpanRecord[] = [];
  const attach = (parent: string, span: SpanRecord, hop: boolean): void => {
    const list = children.get(parent) ?? [];
    list.push({ span, hop });
    children.set(parent, list);
  };
  for (const span of spans) {
    const parent =
      span.parentSpanId === undefined ? undefined : `${span.traceId}/${span.parentSpanId}`;
    if (parent !== undefined && byId.has(parent)) {
      attach(parent, span, false);
      continue;
    }
    const link = span.links.find((l) => byId.has(`${l.traceId}/${l.spanId}`));
    if (link !== undefined) attach(`${link.traceId}/${link.spanId}`, span, true);
    else roots.push(span);
  }
  const rows: Row[] = [];
  const visit = (span: SpanRecord, depth: number, hop: boolean): void => {
    if (rows.length >= 2000) return;
    rows.push({ span, depth, hop });
    const kids = children.get(`${span.traceId}/${span.spanId}`) ?? [];
    kids.sort((a, b) => a.span.startMs - b.span.startMs);
    for (const kid of kids) visit(kid.span, depth + 1, kid.hop || crossesQueue(kid.span));
  };
  roots.sort((a, b) => a.startMs - b.startMs);
  for (const root of roots) visit(root, 0, false);
  return rows;
}

/** A consumer span linked to its producer: the message crossed a queue to get here. */
function crossesQueue(span: SpanRecord): boolean {
  return span.kind === 'consumer' && span.links.length > 0;
}

function hopMarker(span: SpanRecord, depth: number, rootTrace: string): Html {
  const via = span.attributes['messaging.destination.name'];
  return html`<tr class="hop"><td colspan="4">${'\u00a0'.repeat(depth * 3)}↪ queue hop${
    typeof via === 'string' ? html` through <strong>${via}</strong>` : ''
  }${
    span.traceId === rootTrace
      ? ''
      : html`: linked trace <a href="/traces/${span.traceId}">${span.traceId.slice(0, 8)}</a>`
  }</td></tr>`;
}

function waterfall(rows: Row[]): Html {
  if (rows.length === 0) return html`<p class="muted">No spans.</p>`;
  const start = Math.min(...rows.map((r) => r.span.startMs));
  const end = Math.max(...rows.map((r) => r.span.startMs + r.span.durationMs));
  const total = Math.max(end - start, 0.001);
  return html`<table class="wf"><thead><tr><th>Span</th><th>Service</th><th class="n">Duration</th>
<th>${duration(total)} from ${clock(start)}</th></tr></thead><tbody>
${rows.map(({ span, depth, hop }) => {
  const x = ((span.startMs - start) / total) * 1000;
  const w = Math.max((span.durationMs / total) * 1000, 2);
  const kind = span.status === 'error' ? 'err' : hop ? 'linked' : '';
  const marker = hop ? hopMarker(span, depth, rows[0]!.span.traceId) : '';
  return html`${marker}<tr><td>${'\u00a0'.repeat(depth * 3)}<details><summary>${span.name} <span class="muted">${span.kind}</span></summary>
<pre>${JSON.stringify({ attributes: span.attributes, events: span.events, links: span.links, status: span.statusMessage }, null, 2)}</pre></details></td>
<td>${span.service}</td><td class="n">${duration(span.durationMs)}</td>
<td><svg viewBox="0 0 1000 10" preserveAspectRatio="none"><rect class="${kind}" x="${x.toFixed(1)}" y="0" width="${w.toFixed(1)}" height="10"></rect></svg></td></tr>`;
})}</tbody></table>`;
}

export function tracePage(store: TelemetryQuery | undefined, traceId: string): Html | undefined {
  if (store === undefined || !/^[0-9a-f]{32}$/.test(traceId)) return undefined;
  const { spans, traceIds, linked } = collectTraces(store, traceId);
  if (spans.length === 0) return undefined;
  const logs: LogRecord[] = traceIds
    .flatMap((id) => store.logs({ traceId: id, limit: 200 }).records)
    .sort((a, b) => a.timeMs - b.timeMs);
  const rows = waterfallRows(spans);
  const services = [...new Set(spans.map((s) => s.service))];
  const body = html`<h1>Trace <code>${traceId}</code></h1>
<p>${spans.length} spans across ${services.join(', ')}${
    linked.length > 0
      ? html`; follows ${linked.length} linked trace${linked.length > 1 ? 's' : ''} across queue hops`
      : ''
  }.</p>
<div class="split"><section>${waterfall(rows)}</section>
<section><h2>Logs of this trace</h2>${logRows(logs)}</section></div>`;
  return html`${documentHead('traces', `Trace ${traceId.slice(0, 8)}`)}${documentBody('/events', body)}`;
}
