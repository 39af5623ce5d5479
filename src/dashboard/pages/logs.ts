import type { LogFilter, LogLevel, LogRecord } from '../../observe/store/index.js';
import { clock } from '../format.js';
import { type Html, html } from '../html.js';
import { documentBody, queryOf } from '../layout.js';
import { type Page, param } from '../page.js';

const LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

/** The log filter of a query string: `level`, `service`, `trace`, `text`. */
export function logFilterOf(query: URLSearchParams): LogFilter {
  const filter: LogFilter = {};
  const level = param(query, 'level');
  const service = param(query, 'service');
  const trace = param(query, 'trace');
  const text = param(query, 'text');
  if (level !== undefined && (LEVELS as readonly string[]).includes(level)) {
    filter.minLevel = level as LogLevel;
  }
  if (service !== undefined) filter.service = service;
  if (trace !== undefined) filter.traceId = trace.toLowerCase();
  if (text !== undefined) filter.text = text;
  return filter;
}

/** Table rows, newest first as given. */
export function logLines(records: LogRecord[]): Html {
  return html`${records.map(
    (r) => html`<tr><td class="mono">${clock(r.timeMs)}</td>
<td><span class="badge lvl-${r.level}">${r.level}</span></td>
<td>${r.service}${r.instance === undefined ? '' : `.${r.instance}`}</td>
<td class="msg">${r.message}${Object.keys(r.attributes).length > 0 ? html` <span class="muted mono">${JSON.stringify(r.attributes)}</span>` : ''}</td>
<td>${r.traceId === undefined ? '' : html`<a class="mono" href="/traces/${r.traceId}">${r.traceId.slice(0, 8)}</a>`}</td></tr>`,
  )}`;
}

export function logRows(records: LogRecord[], tbodyAttributes?: Html): Html {
  return html`<table><thead><tr><th>Time</th><th>Level</th><th>Process</th><th>Message</th><th>Trace</th></tr></thead>
<tbody id="log-lines" ${tbodyAttributes}>${logLines(records)}</tbody></table>${
    records.length === 0 ? html`<p class="muted">No log lines match.</p>` : ''
  }`;
}

export const logsPage: Page = {
  // The tail comes over the stream as `log` events; nothing to refresh at a tick.
  async live() {
    return html``;
  },
  async full({ sources, query }) {
    const store = sources.telemetry();
    const values = {
      level: param(query, 'level'),
      service: param(query, 'service'),
      trace: param(query, 'trace'),
      text: param(query, 'text'),
    };
    const page = store?.logs({ ...logFilterOf(query), limit: 200 });
    const services = store?.services() ?? [];
    const events = `/events${queryOf({ ...values, tail: 'logs', after: String(page?.tail ?? 0) })}`;
    const form = html`<form class="filters" method="get" action="/logs">
<label>Level <select name="level"><option value="">any</option>${LEVELS.map(
      (l) => html`<option ${l === values.level ? 'selected' : ''}>${l}</option>`,
    )}</select></label>
<label>Service <select name="service"><option value="">any</option>${services.map(
      (s) => html`<option ${s.name === values.service ? 'selected' : ''}>${s.name}</option>`,
    )}</select></label>
<label>Trace id <input name="trace" value="${values.trace ?? ''}" size="34"></label>
<label>Text <input name="text" value="${values.text ?? ''}"></label>
<button>Filter</button><label><span>Follow</span><input id="follow" type="checkbox" checked></label></form>`;
    const body = html`<h1>Logs</h1>${form}${
      page === undefined
        ? html`<p class="muted">The telemetry store is off.</p>`
        : logRows(page.records, html`sse-swap="log" hx-swap="afterbegin"`)
    }`;
    return documentBody(events, body);
  },
};
