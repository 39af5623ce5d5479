import type { MetricSeries, TelemetryQuery } from '../../observe/store/index.js';
import { deadLettersAt, searchDeadLetters } from '../dead-letters.js';
import { dateTime, duration, num } from '../format.js';
import { type Html, html } from '../html.js';
import { documentBody, live, queryOf } from '../layout.js';
import { chartData, increase, latest } from '../metrics.js';
import { type Page, type PageContext, param } from '../page.js';

const WINDOW_MS = 5 * 60_000;

interface SourceRow {
  /** `queue:NAME` or `topic:NAME/GROUP`. */
  id: string;
  destination: string;
  group: string;
  depth?: number;
  inFlight?: number;
  oldestSeconds?: number;
  lag?: number;
  deadLetters?: number;
  ackedPerSecond: number;
  publishedPerSecond: number;
}

/**
 * Every queue, topic group and stream group the processes report, once: several processes
 * report the same queue's engine-wide gauges, so the highest recent value is shown, while
 * counters (each process counts its own) are summed.
 */
export function sourceRows(store: TelemetryQuery, now: number): SourceRow[] {
  const rows = new Map<string, SourceRow>();
  const rowOf = (labels: Record<string, string>): SourceRow => {
    const destination = labels.destination ?? labels.queue ?? '?';
    const group = labels.group ?? '';
    const id = group === '' ? `queue:${destination}` : `topic:${destination}/${group}`;
    let row = rows.get(id);
    if (row === undefined) {
      row = { id, destination, group, ackedPerSecond: 0, publishedPerSecond: 0 };
      rows.set(id, row);
    }
    return row;
  };
  const gauges = [
    ['sluice_messaging_depth', 'depth'],
    ['sluice_messaging_in_flight', 'inFlight'],
    ['sluice_messaging_oldest_age_seconds', 'oldestSeconds'],
    ['sluice_messaging_consumer_lag', 'lag'],
    ['sluice_messaging_dead_letters', 'deadLetters'],
  ] as const;
  for (const [name, field] of gauges) {
    for (const { labels, value } of latest(store, name, now)) {
      const row = rowOf(labels);
      row[field] = Math.max(row[field] ?? 0, value);
    }
  }
  for (const { labels, value } of increase(store, 'sluice_messaging_acked_total', now, WINDOW_MS)) {
    rowOf(labels).ackedPerSecond += value / (WINDOW_MS / 1000);
  }
  for (const { labels, value } of increase(
    store,
    'sluice_messaging_published_total',
    now,
    WINDOW_MS,
  )) {
    const destination = labels.destination ?? '?';
    // A publish to a topic reaches every group: count it on each.
    for (const row of rows.values()) {
      if (row.destination === destination) row.publishedPerSecond += value / (WINDOW_MS / 1000);
    }
  }
  return [...rows.values()].sort((a, b) => a.id.localeCompare(b.id));
}

function sourcesTable(rows: SourceRow[]): Html {
  if (rows.length === 0)
    return html`<p class="muted">No queue metrics yet (they are scraped every few seconds).</p>`;
  return html`<table><thead><tr><th>Queue / topic group</th><th class="n">Depth</th><th class="n">In flight</th>
<th class="n">Oldest</th><th class="n">Lag</th><th class="n">Published/s</th><th class="n">Acked/s</th><th class="n">Dead letters</th></tr></thead><tbody>
${rows.map(
  (
    r,
  ) => html`<tr><td>${r.destination}${r.group === '' ? '' : html` <span class="muted">group ${r.group}</span>`}</td>
<td class="n">${num(r.depth)}</td><td class="n">${num(r.inFlight)}</td>
<td class="n">${r.oldestSeconds === undefined ? '–' : duration(r.oldestSeconds * 1000)}</td><td class="n">${num(r.lag)}</td>
<td class="n">${num(r.publishedPerSecond)}</td><td class="n">${num(r.ackedPerSecond)}</td>
<td class="n">${(r.deadLetters ?? 0) > 0 ? html`<a class="badge err" href="/queues${queryOf({ source: r.id })}#dead-letters">${r.deadLetters}</a>` : num(r.deadLetters)}</td></tr>`,
)}</tbody></table>`;
}

async function deadLetterList({ sources, query }: PageContext): Promise<Html> {
  const source = param(query, 'source');
  if (source === undefined) return html`<p class="muted">Choose a queue or topic group.</p>`;
  const broker = await sources.broker();
  if (broker === undefined) return html`<p class="muted">The system declares no messaging.</p>`;
  const box = deadLettersAt(broker, source);
  if (box === undefined) return html`<p class="badge err">No dead-letter queue "${source}".</p>`;
  const q = param(query, 'q');
  const letters = await searchDeadLetters(box, q);
  if (letters.length === 0)
    return html`<p class="muted">No dead letters${q === undefined ? '' : ' match'}.</p>`;
  return html`<form hx-target="#action-result" hx-include="this">
<input type="hidden" name="source" value="${source}"><input type="hidden" name="q" value="${q ?? ''}">
<p><button hx-post="/actions/dlq/replay">Replay selected</button> <button hx-post="/actions/dlq/delete">Delete selected</button>
<button hx-post="/actions/dlq/replay" hx-vals='{"all":"1"}'>Replay all ${letters.length}${q === undefined ? '' : ' matching'}</button>
<button hx-post="/actions/dlq/delete" hx-vals='{"all":"1"}'>Delete all ${letters.length}${q === undefined ? '' : ' matching'}</button></p>
<table><thead><tr><th></th><th>Id</th><th>Failed</th><th class="n">Attempts</th><th>Error</th><th>Payload</th></tr></thead><tbody>
${letters.map(
  (
    l,
  ) => html`<tr><td><input type="checkbox" name="id" value="${l.id}" aria-label="select ${l.id}"></td>
<td class="mono">${l.id}</td><td class="mono">${dateTime(l.failedAt.getTime())}</td><td class="n">${l.attempt}</td>
<td class="msg">${l.error}</td><td><details><summary class="mono">${(JSON.stringify(l.payload) ?? '').slice(0, 60)}</summary>
<pre>${JSON.stringify({ key: l.key, headers: l.headers, payload: l.payload }, null, 2)}</pre></details></td></tr>`,
)}</tbody></table></form>`;
}

const CHART_MS = 15 * 60_000;

/** Depth of each queue and topic group over the last 15 minutes, one line each. */
function depthChart(store: TelemetryQuery, now: number): Html {
  const byQueue = new Map<string, MetricSeries>();
  for (const series of store.series({
    name: 'sluice_messaging_depth',
    from: now - CHART_MS,
    to: now + 1000,
  })) {
    const { destination = '?', group = '' } = series.labels;
    const key = group === '' ? destination : `${destination}/${group}`;
    // Every process that uses a queue reports its depth: one line per queue is enough.
    if (!byQueue.has(key)) byQueue.set(key, { ...series, labels: { queue: key } });
  }
  const data = chartData([...byQueue.values()].slice(0, 8));
  if (data === undefined) return html``;
  return html`<h2>Depth, last 15 minutes</h2><div class="chart" data-chart="${JSON.stringify(data)}"></div>`;
}

export const queuesPage: Page = {
  charts: true,
  async live({ sources, now }) {
    const store = sources.telemetry();
    if (store === undefined) return html`<p class="muted">The telemetry store is off.</p>`;
    return html`${sourcesTable(sourceRows(store, now))}${depthChart(store, now)}`;
  },
  parts: { 'dead-letters': deadLetterList },
  async full(context) {
    const { query, sources, now } = context;
    const store = sources.telemetry();
    const known = store === undefined ? [] : sourceRows(store, now).map((r) => r.id);
    const source = param(query, 'source');
    const q = param(query, 'q');
    const form = html`<form class="filters" method="get" action="/queues#dead-letters">
<label>Dead letters of <select name="source">${[
      ...new Set([...known, ...(source === undefined ? [] : [source])]),
    ].map((id) => html`<option ${id === source ? 'selected' : ''}>${id}</option>`)}</select></label>
<label>Search id or payload <input name="q" value="${q ?? ''}"></label><button>Search</button></form>`;
    const body = html`<h1>Queues</h1>${live('/queues/live', await this.live(context))}
<h2 id="dead-letters">Dead-letter queue</h2>${form}<div id="action-result" class="result"></div>
<div id="dlq" hx-get="/queues/dead-letters${queryOf({ source, q })}" hx-trigger="refresh-dlq from:body">${await deadLetterList(context)}</div>`;
    return documentBody('/events', body);
  },
};
