import type { GatewayConfig } from '../../gateway/config.js';
import { num, percent } from '../format.js';
import { type Html, html } from '../html.js';
import { documentBody, live } from '../layout.js';
import { increase, latest, sum } from '../metrics.js';
import type { Page, PageContext } from '../page.js';

const WINDOW_MS = 5 * 60_000;
const CLASSES = ['2xx', '3xx', '4xx', '5xx'];
const FILTERS = [
  'auth',
  'rateLimit',
  'cache',
  'body',
  'cors',
  'requestHeaders',
  'responseHeaders',
  'resilience',
] as const;

function routeFilters(route: Record<string, unknown>): string {
  return FILTERS.filter((f) => route[f] !== undefined)
    .map((f) => (f === 'auth' ? `auth: ${String(route.auth)}` : f))
    .join(', ');
}

async function traffic({ sources, now }: PageContext, gateway: GatewayConfig): Promise<Html> {
  const store = sources.telemetry();
  if (store === undefined) return html`<p class="muted">The telemetry store is off.</p>`;
  const requests = increase(store, 'sluice_gateway_requests_total', now, WINDOW_MS);
  const cache = increase(store, 'sluice_gateway_cache_total', now, WINDOW_MS);
  const limits = increase(store, 'sluice_ratelimit_decisions_total', now, WINDOW_MS);
  const shed = sum(increase(store, 'sluice_load_shed_total', now, WINDOW_MS));
  const breakers = latest(store, 'sluice_breaker_state', now).filter((v) => v.value === 1);
  const routes = gateway.routes ?? [];
  const rows = routes.map((route, i) => {
    const name = route.name ?? route.path ?? String(i);
    const mine = (l: Record<string, string>) => l.route === name || l.route === route.path;
    const total = sum(requests, mine);
    const hits = sum(cache, (l) => mine(l) && l.result === 'hit');
    const lookups = sum(cache, mine);
    const rejected = sum(limits, (l) => (l.name ?? '').includes(name) && l.decision === 'rejected');
    return html`<tr><td>${name}</td><td class="mono">${(route.methods ?? ['*']).join(',')} ${route.path}</td><td>${route.upstream ?? ''}</td>
<td>${routeFilters(route as unknown as Record<string, unknown>)}</td><td class="n">${num(total)}</td>
${CLASSES.map((c) => html`<td class="n">${num(sum(requests, (l) => mine(l) && l.status_class === c))}</td>`)}
<td class="n">${route.cache === undefined ? '' : percent(hits, lookups)}</td><td class="n">${route.rateLimit === undefined ? '' : num(rejected)}</td></tr>`;
  });
  const upstreams = Object.entries(gateway.upstreams ?? {}).map(([name, upstream]) => {
    const state = breakers.find((b) => b.labels.name?.includes(name))?.labels.state;
    const errors = sum(requests, (l) => l.upstream === name && l.status_class === '5xx');
    const total = sum(requests, (l) => l.upstream === name);
    const kind =
      state === 'open' || (total > 0 && errors / total > 0.5)
        ? 'err'
        : state === 'half-open'
          ? 'warn'
          : 'ok';
    return html`<tr><td>${name}</td><td class="mono">${upstream.targets.join(' ')}</td>
<td>${upstream.healthCheck === undefined ? 'passive' : `GET ${upstream.healthCheck.path ?? '/'}`}</td>
<td><span class="badge ${kind}">${state === undefined ? (kind === 'err' ? 'failing' : 'healthy') : `breaker ${state}`}</span></td>
<td class="n">${percent(errors, total)}</td></tr>`;
  });
  return html`<p>Last 5 minutes. Shed requests: <strong>${num(shed)}</strong>.</p>
<h2>Routes</h2><table><thead><tr><th>Route</th><th>Match</th><th>Upstream</th><th>Filters</th><th class="n">Requests</th>
${CLASSES.map((c) => html`<th class="n">${c}</th>`)}<th class="n">Cache hits</th><th class="n">Rate-limited</th></tr></thead><tbody>${rows}</tbody></table>
<h2>Upstreams</h2><table><thead><tr><th>Upstream</th><th>Targets</th><th>Health check</th><th>Health</th><th class="n">5xx</th></tr></thead><tbody>${upstreams}</tbody></table>`;
}

export const gatewayPage: Page = {
  async live(context) {
    const gateway = context.sources.config.gateway;
    if (gateway === undefined) return html`<p class="muted">The file declares no gateway.</p>`;
    return traffic(context, gateway);
  },
  async full(context) {
    const listen = context.sources.config.gateway?.listen;
    const body = html`<h1>Gateway</h1>${listen === undefined ? '' : html`<p class="muted">Listening on ${listen}</p>`}${live('/gateway/live', await this.live(context))}`;
    return documentBody('/events', body);
  },
};
