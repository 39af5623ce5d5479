import type { TelemetryQuery } from '../../observe/store/index.js';
import type { SluiceConfig } from '../../runtime/config/index.js';
import { clock, num, percent } from '../format.js';
import { type Html, html } from '../html.js';
import { documentBody, live } from '../layout.js';
import { increase, latest, sum } from '../metrics.js';
import type { Page } from '../page.js';

const WINDOW_MS = 5 * 60_000;
const STATES = ['closed', 'half-open', 'open'];

/** Each policy as declared in the file, by where it sits: `fulfillment → payment`, `gateway → orders`. */
export function declaredPolicies(config: SluiceConfig): Array<{ where: string; policy: unknown }> {
  const out: Array<{ where: string; policy: unknown }> = [];
  for (const [name, upstream] of Object.entries(config.gateway?.upstreams ?? {})) {
    if (upstream.resilience !== undefined)
      out.push({ where: `gateway → ${name}`, policy: upstream.resilience });
  }
  for (const [service, declared] of Object.entries(config.services ?? {})) {
    for (const [upstream, policy] of Object.entries(declared.policies ?? {})) {
      out.push({ where: `${service} → ${upstream}`, policy });
    }
  }
  return out;
}

function breakers(store: TelemetryQuery, now: number): Html {
  const states = latest(store, 'sluice_breaker_state', now).filter((v) => v.value === 1);
  const calls = increase(store, 'sluice_breaker_calls_total', now, WINDOW_MS);
  const rows = new Map<string, { service: string; name: string; state: string }>();
  for (const { labels } of states) {
    const key = `${labels.service ?? ''}/${labels.name ?? ''}`;
    const state = labels.state ?? '?';
    const known = rows.get(key);
    if (known === undefined || STATES.indexOf(state) > STATES.indexOf(known.state)) {
      rows.set(key, { service: labels.service ?? '', name: labels.name ?? '', state });
    }
  }
  if (rows.size === 0) return html`<p class="muted">No breaker reports its state yet.</p>`;
  return html`<table id="breakers"><thead><tr><th>Breaker</th><th>In</th><th>State</th><th class="n">Calls (5 min)</th>
<th class="n">Failures</th><th class="n">Rejected</th></tr></thead><tbody>${[...rows.values()].map(
    (b) => {
      const mine = (labels: Record<string, string>) =>
        labels.name === b.name && (labels.service ?? '') === b.service;
      const total = sum(calls, mine);
      const failed = sum(calls, (l) => mine(l) && l.outcome === 'failure');
      const rejected = sum(calls, (l) => mine(l) && l.outcome === 'rejected');
      const kind = b.state === 'open' ? 'err' : b.state === 'half-open' ? 'warn' : 'ok';
      return html`<tr data-breaker="${b.name}"><td>${b.name}</td><td>${b.service}</td><td><span class="badge ${kind}">${b.state}</span></td>
<td class="n">${num(total)}</td><td class="n">${failed > 0 ? percent(failed, total) : '0'}</td><td class="n">${num(rejected)}</td></tr>`;
    },
  )}</tbody></table>`;
}

function occupancy(store: TelemetryQuery, now: number): Html {
  const limits = latest(store, 'sluice_concurrency_limit', now);
  const inflight = latest(store, 'sluice_concurrency_inflight', now);
  const bulkheads = increase(store, 'sluice_bulkhead_rejections_total', now, WINDOW_MS);
  const limiter = increase(store, 'sluice_ratelimit_decisions_total', now, WINDOW_MS);
  const retries = increase(store, 'sluice_retry_attempts_total', now, WINDOW_MS);
  const giveUps = increase(store, 'sluice_retry_give_ups_total', now, WINDOW_MS);
  const budget = increase(store, 'sluice_mesh_retry_budget_exhausted_total', now, WINDOW_MS);
  const names = (values: typeof limits) => [...new Set(values.map((v) => v.labels.name ?? ''))];
  const row = (what: string, name: string, figure: string) =>
    html`<tr><td>${what}</td><td>${name}</td><td class="n">${figure}</td></tr>`;
  const rows = [
    ...names(inflight).map((n) =>
      row(
        'concurrency in use',
        n,
        `${num(sum(inflight, (l) => l.name === n))} / ${num(sum(limits, (l) => l.name === n))}`,
      ),
    ),
    ...names(bulkheads).map((n) =>
      row('bulkhead rejections (5 min)', n, num(sum(bulkheads, (l) => l.name === n))),
    ),
    ...names(limiter).map((n) => {
      const rejected = sum(limiter, (l) => l.name === n && l.decision === 'rejected');
      return row(
        'rate limit rejected (5 min)',
        n,
        `${num(rejected)} of ${num(sum(limiter, (l) => l.name === n))}`,
      );
    }),
    ...names(retries).map((n) =>
      row(
        'retries (5 min)',
        n,
        `${num(sum(retries, (l) => l.name === n))}, gave up ${num(sum(giveUps, (l) => l.name === n))}`,
      ),
    ),
    ...(budget.length > 0
      ? [row('mesh retry budget exhausted (5 min)', 'all', num(sum(budget)))]
      : []),
  ];
  if (rows.length === 0)
    return html`<p class="muted">No limiter, bulkhead or retry has reported yet.</p>`;
  return html`<table><thead><tr><th>Policy</th><th>Name</th><th class="n">Now</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function reloads(store: TelemetryQuery): Html {
  const records = store.logs({ text: 'reload', limit: 20 }).records;
  if (records.length === 0) return html`<p class="muted">No configuration reload logged.</p>`;
  return html`<table><tbody>${records.map(
    (r) =>
      html`<tr><td class="mono">${clock(r.timeMs)}</td><td>${r.service}</td><td class="msg">${r.message} <span class="muted mono">${JSON.stringify(r.attributes)}</span></td></tr>`,
  )}</tbody></table>`;
}

export const policiesPage: Page = {
  async live({ sources, now }) {
    const store = sources.telemetry();
    if (store === undefined) return html`<p class="muted">The telemetry store is off.</p>`;
    return html`<h2>Circuit breakers</h2>${breakers(store, now)}
<h2>Limits, bulkheads, retries</h2>${occupancy(store, now)}
<h2>Configuration reloads</h2>${reloads(store)}`;
  },
  async full(context) {
    const declared = declaredPolicies(context.sources.config);
    const body = html`<h1>Policies</h1>${live('/policies/live', await this.live(context))}
<h2>Declared in the file</h2>${
      declared.length === 0
        ? html`<p class="muted">No policies declared.</p>`
        : html`<table><tbody>${declared.map((d) => html`<tr><td>${d.where}</td><td class="mono">${JSON.stringify(d.policy)}</td></tr>`)}</tbody></table>`
    }`;
    return documentBody('/events', body);
  },
};
