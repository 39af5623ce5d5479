import type { RouteTraffic } from '../../observe/store/index.js';
import type { ServiceStatus } from '../../runtime/control-server.js';
import { duration, num, percent } from '../format.js';
import { type Html, html } from '../html.js';
import { documentBody, live } from '../layout.js';
import type { Page } from '../page.js';

/** The window of the golden signals. */
export const TRAFFIC_WINDOW_MS = 5 * 60_000;

export function trafficTable(routes: RouteTraffic[]): Html {
  if (routes.length === 0) return html`<p class="muted">No requests in the last 5 minutes.</p>`;
  return html`<table><thead><tr><th>Route</th><th class="n">Req/s</th><th class="n">Errors</th>
<th class="n">p50</th><th class="n">p95</th><th class="n">p99</th></tr></thead><tbody>${routes
    .sort((a, b) => b.count - a.count)
    .map(
      (r) => html`<tr><td>${r.route}</td><td class="n">${num(r.ratePerSecond)}</td>
<td class="n">${r.errors > 0 ? html`<span class="badge err">${percent(r.errors, r.count)}</span>` : '0'}</td>
<td class="n">${duration(r.p50Ms)}</td><td class="n">${duration(r.p95Ms)}</td><td class="n">${duration(r.p99Ms)}</td></tr>`,
    )}</tbody></table>`;
}

function stateBadge(state: string): Html {
  const kind =
    state === 'ready' ? 'ok' : state === 'starting' || state === 'restarting' ? 'warn' : 'err';
  return html`<span class="badge ${kind}">${state}</span>`;
}

function serviceCard(
  name: string,
  service: ServiceStatus | undefined,
  routes: RouteTraffic[],
): Html {
  const instances = service?.instances ?? [];
  return html`<section class="card" id="service-${name}"><h2>${name}</h2>
<p class="muted">${service?.url ?? ''} · restart ${service?.restart ?? '?'}</p>
<table><thead><tr><th>Instance</th><th>State</th><th class="n">pid</th><th class="n">Restarts</th><th></th></tr></thead><tbody>
${instances.map(
  (
    i,
  ) => html`<tr><td>${name}.${i.index} <span class="muted">:${i.port}</span></td><td>${stateBadge(i.state)}</td>
<td class="n">${i.pid ?? '–'}</td><td class="n">${i.restarts > 0 ? html`<span class="badge warn">${i.restarts}</span>` : '0'}</td>
<td><button hx-post="/actions/restart" hx-vals='${JSON.stringify({ service: name, instance: String(i.index) })}' hx-target="#action-result" hx-confirm="Kill ${name}.${i.index}? The supervisor restarts it.">restart</button></td></tr>`,
)}</tbody></table>
${trafficTable(routes)}
</section>`;
}

export const servicesPage: Page = {
  async live({ sources, now }) {
    const status = await sources.status();
    const traffic = sources.telemetry()?.traffic(now - TRAFFIC_WINDOW_MS);
    const names = new Set([
      ...Object.keys(status?.services ?? {}),
      ...Object.keys(sources.config.services ?? {}),
    ]);
    const warning =
      status === undefined
        ? html`<p class="badge warn">The supervisor's control API does not answer: instances are unknown, actions are off.</p>`
        : '';
    return html`${warning}<div class="grid">${[...names].map((name) =>
      serviceCard(
        name,
        status?.services[name],
        (traffic?.routes ?? []).filter((r) => r.service === name),
      ),
    )}</div>`;
  },
  async full(context) {
    const names = Object.keys(context.sources.config.services ?? {});
    const faults = html`<h2>Inject a fault</h2>
<form class="filters" hx-post="/actions/fault" hx-target="#action-result">
<label>Service <select name="service">${names.map((n) => html`<option>${n}</option>`)}</select></label>
<label>Latency ms <input name="latency" type="number" min="0" size="6"></label>
<label>Error rate <input name="errorRate" type="number" min="0" max="1" step="0.05" size="4"></label>
<label>Decline rate <input name="declineRate" type="number" min="0" max="1" step="0.05" size="4"></label>
<button>Set</button>
<button type="button" hx-post="/actions/fault" hx-include="closest form" hx-vals='{"clear":"1"}' hx-target="#action-result">Clear</button></form>`;
    const body = html`<h1>Services</h1><div id="action-result" class="result"></div>${faults}
${live('/services/live', await this.live(context))}`;
    return documentBody('/events', body);
  },
};
