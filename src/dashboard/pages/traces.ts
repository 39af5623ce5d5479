import type { TraceFilter, TraceSummary } from '../../observe/store/index.js';
import { dateTime, duration } from '../format.js';
import { type Html, html } from '../html.js';
import { documentBody, live, queryOf } from '../layout.js';
import { numberParam, type Page, type PageContext, param } from '../page.js';

function filterOf(query: URLSearchParams): TraceFilter {
  const filter: TraceFilter = { limit: 100 };
  const service = param(query, 'service');
  const route = param(query, 'route');
  const status = param(query, 'status');
  const min = numberParam(query, 'min');
  const max = numberParam(query, 'max');
  const attr = param(query, 'attr');
  if (service !== undefined) filter.service = service;
  if (route !== undefined) filter.route = route;
  if (status === 'ok' || status === 'error') filter.status = status;
  if (min !== undefined) filter.minDurationMs = min;
  if (max !== undefined) filter.maxDurationMs = max;
  if (attr !== undefined) {
    const at = attr.indexOf('=');
    filter.attribute =
      at < 0 ? { key: attr } : { key: attr.slice(0, at), value: attr.slice(at + 1) };
  }
  return filter;
}

function filterValues(query: URLSearchParams): Record<string, string | undefined> {
  const names = ['service', 'route', 'status', 'min', 'max', 'attr'];
  return Object.fromEntries(names.map((n) => [n, param(query, n)]));
}

export function traceRows(traces: TraceSummary[]): Html {
  if (traces.length === 0) return html`<p class="muted">No traces match.</p>`;
  return html`<table><thead><tr><th>Started</th><th>Root</th><th>Route</th><th>Services</th>
<th class="n">Spans</th><th class="n">Errors</th><th class="n">Duration</th></tr></thead><tbody>
${traces.map(
  (t) => html`<tr><td class="mono">${dateTime(t.startMs)}</td>
<td><a href="/traces/${t.traceId}">${t.rootService} ${t.rootName}</a></td><td>${t.route ?? ''}</td>
<td>${t.services.join(', ')}</td><td class="n">${t.spanCount}</td>
<td class="n">${t.errorCount > 0 ? html`<span class="badge err">${t.errorCount}</span>` : '0'}</td>
<td class="n">${duration(t.durationMs)}</td></tr>`,
)}</tbody></table>`;
}

export const tracesPage: Page = {
  async live({ sources, query }) {
    const store = sources.telemetry();
    if (store === undefined) return noStore();
    return traceRows(store.searchTraces(filterOf(query)));
  },
  async full(context: PageContext) {
    const { query } = context;
    const v = filterValues(query);
    const services = context.sources.telemetry()?.services() ?? [];
    const form = html`<form class="filters" method="get" action="/traces">
<label>Service <select name="service"><option value="">any</option>${services.map(
      (s) => html`<option ${s.name === v.service ? 'selected' : ''}>${s.name}</option>`,
    )}</select></label>
<label>Route <input name="route" value="${v.route ?? ''}" placeholder="/api/orders"></label>
<label>Status <select name="status"><option value="">any</option>
<option value="error" ${v.status === 'error' ? 'selected' : ''}>error</option>
<option value="ok" ${v.status === 'ok' ? 'selected' : ''}>ok</option></select></label>
<label>Min ms <input name="min" type="number" min="0" value="${v.min ?? ''}"></label>
<label>Max ms <input name="max" type="number" min="0" value="${v.max ?? ''}"></label>
<label>Attribute <input name="attr" value="${v.attr ?? ''}" placeholder="key=value"></label>
<button>Search</button></form>`;
    const body = html`<h1>Traces</h1>${form}${live(`/traces/live${queryOf(v)}`, await this.live(context))}`;
    return documentBody('/events', body);
  },
};

export function noStore(): Html {
  return html`<p class="muted">The telemetry store is off: turn it on with <code>telemetry: { store: {} }</code> in sluice.yaml.</p>`;
}
