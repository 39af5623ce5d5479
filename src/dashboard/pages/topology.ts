import type { EdgeTraffic } from '../../observe/store/index.js';
import { duration, num, percent } from '../format.js';
import { type Html, html } from '../html.js';
import { documentBody, live } from '../layout.js';
import { latest } from '../metrics.js';
import type { Page, PageContext } from '../page.js';
import {
  type Placed,
  placeTopology,
  type TopologyEdge,
  type TopologyNode,
} from '../topology-layout.js';
import { sourceRows } from './queues.js';
import { TRAFFIC_WINDOW_MS } from './services.js';

const DAY_SECONDS = 86_400;

/** Nodes and edges from the file (what may talk to what) and the spans (what did). */
export async function topologyOf({
  sources,
  now,
}: PageContext): Promise<{ nodes: TopologyNode[]; edges: TopologyEdge[] }> {
  const { config } = sources;
  const store = sources.telemetry();
  const status = await sources.status();
  const services = config.services ?? {};
  const nodes = new Map<string, TopologyNode>();
  const node = (label: string, kind: TopologyNode['kind']): TopologyNode => {
    const id = kind === 'queue' ? `queue:${label}` : label;
    let found = nodes.get(id);
    if (found === undefined) {
      found = { id, label, kind, badges: [], bad: false };
      nodes.set(id, found);
    }
    return found;
  };
  const edges = new Map<string, TopologyEdge & { traffic?: EdgeTraffic }>();
  const edge = (from: string, to: string): TopologyEdge & { traffic?: EdgeTraffic } => {
    const key = `${from}\n${to}`;
    let found = edges.get(key);
    if (found === undefined) {
      found = { from, to, label: '', bad: false };
      edges.set(key, found);
    }
    return found;
  };
  if (config.gateway !== undefined) node('gateway', 'gateway');
  for (const name of Object.keys(services)) node(name, 'service');
  const byPort = new Map(Object.entries(services).map(([name, s]) => [String(s.port), name]));
  for (const upstream of Object.values(config.gateway?.upstreams ?? {})) {
    for (const target of upstream.targets) {
      const service = byPort.get(safePort(target));
      if (service !== undefined) edge('gateway', service);
    }
  }
  for (const [name, service] of Object.entries(services)) {
    for (const upstream of service.upstreams ?? []) edge(name, upstream);
  }
  if (store !== undefined) {
    for (const row of sourceRows(store, now)) node(row.destination, 'queue');
    for (const traffic of store.traffic(now - TRAFFIC_WINDOW_MS).edges) {
      const { from, to } = endpoints(
        traffic,
        (name) => Object.hasOwn(services, name),
        config.gateway !== undefined,
      );
      if (from === to) continue;
      for (const id of [from, to]) {
        if (!nodes.has(id))
          node(
            id.startsWith('queue:') ? id.slice(6) : id,
            id.startsWith('queue:') ? 'queue' : 'service',
          );
      }
      const e = edge(from, to);
      e.traffic = traffic;
      e.label = `${rate(traffic.ratePerSecond)} · ${percent(traffic.errors, traffic.count)} err · p95 ${duration(traffic.p95Ms)}`;
      e.bad = traffic.errors > 0;
    }
    for (const { labels, value } of latest(store, 'sluice_breaker_state', now)) {
      if (labels.state !== 'open' || value !== 1) continue;
      const owner = nodes.get(labels.service ?? '');
      if (owner !== undefined) {
        owner.badges.push(`breaker ${labels.name ?? ''} open`);
        owner.bad = true;
      }
    }
    for (const name of store
      .metricNames()
      .filter((n) => n.startsWith('sluice_mesh_') && n.includes('expir'))) {
      for (const { labels, value } of latest(store, name, now)) {
        const owner = nodes.get(labels.service ?? '');
        const left = value > 1e9 ? value - now / 1000 : value;
        if (owner !== undefined && left < 7 * DAY_SECONDS) {
          owner.badges.push(`cert expires in ${duration(left * 1000)}`);
          owner.bad = left < DAY_SECONDS;
        }
      }
    }
  }
  for (const [name, service] of Object.entries(status?.services ?? {})) {
    const restarts = service.instances.reduce((n, i) => n + i.restarts, 0);
    const down = service.instances.filter((i) => i.state !== 'ready').length;
    const owner = nodes.get(name);
    if (owner === undefined) continue;
    if (restarts > 0) owner.badges.push(`${restarts} restart${restarts > 1 ? 's' : ''}`);
    if (down > 0) {
      owner.badges.push(`${down} not ready`);
      owner.bad = true;
    }
  }
  return { nodes: [...nodes.values()], edges: [...edges.values()] };
}

/**
 * The node ids of an edge of traffic: a queue or topic side becomes `queue:NAME`, and a
 * caller that is no declared service (the supervisor process, which runs the gateway) is
 * the gateway.
 */
function endpoints(
  traffic: EdgeTraffic,
  isService: (name: string) => boolean,
  hasGateway: boolean,
) {
  if (traffic.via === 'queue') {
    return isService(traffic.from)
      ? { from: traffic.from, to: `queue:${traffic.to}` }
      : { from: `queue:${traffic.from}`, to: traffic.to };
  }
  const from = isService(traffic.from) || !hasGateway ? traffic.from : 'gateway';
  return { from, to: traffic.to };
}

function rate(perSecond: number): string {
  return perSecond > 0 && perSecond < 0.01 ? '<0.01/s' : `${num(perSecond)}/s`;
}

function safePort(url: string): string {
  try {
    return new URL(url).port;
  } catch {
    return '';
  }
}

export function topologySvg(placed: Placed): Html {
  return html`<svg viewBox="0 0 ${placed.width} ${placed.height}" role="img" aria-label="topology">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#9ca3af"></path></marker></defs>
${placed.edges.map((e) => {
  const d = e.points
    .map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x.toFixed(1)},${p.y.toFixed(1)}`)
    .join(' ');
  const mid = e.points[Math.floor(e.points.length / 2)];
  return html`<g class="edge ${e.bad ? 'bad' : ''}" data-from="${e.from}" data-to="${e.to}"><path d="${d}" marker-end="url(#arrow)"></path>${
    mid === undefined || e.label === ''
      ? ''
      : html`<text x="${mid.x.toFixed(1)}" y="${(mid.y - 4).toFixed(1)}" text-anchor="middle">${e.label}</text>`
  }</g>`;
})}
${placed.nodes.map(
  (
    n,
  ) => html`<g class="node ${n.kind} ${n.bad ? 'bad' : ''}" data-node="${n.id}"><rect x="${(n.x - n.width / 2).toFixed(1)}" y="${(n.y - n.height / 2).toFixed(1)}" width="${n.width}" height="${n.height}" rx="6"></rect>
<text x="${n.x.toFixed(1)}" y="${(n.y - (n.badges.length > 0 ? 6 : -4)).toFixed(1)}" text-anchor="middle">${n.kind === 'queue' ? '▤ ' : ''}${n.label}</text>${
    n.badges.length > 0
      ? html`<text class="badges" x="${n.x.toFixed(1)}" y="${(n.y + 12).toFixed(1)}" text-anchor="middle" fill="#dc2626">${n.badges.join(' · ')}</text>`
      : ''
  }</g>`,
)}</svg>`;
}

export const topologyPage: Page = {
  async live(context) {
    const { nodes, edges } = await topologyOf(context);
    if (nodes.length === 0)
      return html`<p class="muted">Nothing to draw: the file declares no services.</p>`;
    return html`<div class="topo">${topologySvg(placeTopology(nodes, edges))}</div>`;
  },
  async full(context) {
    const body = html`<h1>Topology</h1><p class="muted">Edges: requests per second, error ratio and p95 over the last 5 minutes.</p>${live('/topology/live', await this.live(context))}`;
    return documentBody('/events', body);
  },
};
