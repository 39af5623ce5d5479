import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TelemetryQuery, TraceSummary } from '../../src/observe/store/index.js';
import { freePorts } from '../../src/runtime/ports.js';
import { waitFor } from '../support/wait-for.js';
import { json, login, patiently, type RunningStorefront, startStorefront } from './running.js';

/** Families each process must export with at least one sample once an order went through. */
const EXPECTED: Record<string, string[]> = {
  auth: ['process_cpu_seconds_total', 'nodejs_heap_size_used_bytes'],
  catalog: ['process_cpu_seconds_total'],
  orders: [
    'process_cpu_seconds_total',
    'sluice_messaging_published_total',
    'sluice_messaging_publish_duplicates_total',
    'sluice_messaging_publish_failures_total',
    'sluice_messaging_depth',
    'sluice_messaging_consumer_lag',
    'sluice_messaging_oldest_age_seconds',
  ],
  payment: ['process_cpu_seconds_total'],
  fulfillment: [
    'sluice_breaker_state',
    'sluice_breaker_calls_total',
    'sluice_messaging_delivered_total',
    'sluice_messaging_acked_total',
    'sluice_messaging_in_flight',
    'sluice_messaging_consumer_lag',
    'sluice_messaging_dead_letters',
    'sluice_messaging_published_total',
  ],
  inventory: [
    'process_cpu_seconds_total',
    'sluice_messaging_delivered_total',
    'sluice_messaging_acked_total',
    'sluice_messaging_consumer_lag',
  ],
  billing: [
    'process_cpu_seconds_total',
    'sluice_messaging_delivered_total',
    'sluice_messaging_acked_total',
    'sluice_messaging_consumer_lag',
  ],
  // The supervisor, with the gateway, in this process, read at its /metrics.
  sluice: [
    'process_cpu_seconds_total',
    'process_resident_memory_bytes',
    'nodejs_heap_size_used_bytes',
    'nodejs_eventloop_lag_seconds',
    'sluice_gateway_requests_total',
    'sluice_gateway_request_duration_seconds',
    'sluice_runtime_instances_ready',
    'sluice_telemetry_stored',
  ],
};

/** Metric families with at least one sample, from the text format. */
function families(text: string): Map<string, number> {
  const types = new Map<string, string>();
  const counts = new Map<string, number>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type !== null) {
      types.set(type[1]!, type[2]!);
      counts.set(type[1]!, 0);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)![0];
    const family = [...types.keys()].find(
      (f) =>
        name === f || (name.startsWith(f) && /^_(bucket|sum|count)$/.test(name.slice(f.length))),
    );
    if (family !== undefined) counts.set(family, counts.get(family)! + 1);
  }
  return counts;
}

function promtool(text: string): string {
  const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(result.error, undefined, 'promtool runs (the Debian package prometheus has it)');
  return result.status === 0 ? '' : `${result.stdout}${result.stderr}`;
}

describe('the storefront, observed', { timeout: 240_000 }, () => {
  let storefront: RunningStorefront;
  let gatewayUrl: string;
  let store: TelemetryQuery;
  let orderId: string;

  before(async () => {
    storefront = await startStorefront({
      configure: (config) => {
        const data = dirname(config.messaging!.url!);
        config.telemetry = {
          metrics: { port: 0 },
          store: { path: join(data, 'telemetry.db'), scrapeInterval: '1s' },
        };
      },
    });
    gatewayUrl = storefront.gatewayUrl;
    store = storefront.system.telemetry!;
    assert.ok(store, 'the supervisor runs the telemetry store');

    const token = await login(gatewayUrl, 'alice');
    await (await fetch(`${gatewayUrl}/api/products`)).arrayBuffer();
    const placed = await fetch(`${gatewayUrl}/api/orders`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'idempotency-key': 'observe-1',
      },
      body: JSON.stringify({ items: [{ sku: 'kettle', qty: 1 }] }),
    });
    assert.equal(placed.status, 201, await placed.clone().text());
    orderId = (await json<{ id: string }>(placed)).id;
    const urlOf = (service: string) => storefront.system.urlOf(service)!;
    await waitFor(
      'inventory and billing applied the order',
      async () => {
        const changes = await json<unknown[]>(
          await fetch(`${urlOf('inventory')}/changes/${orderId}`),
        );
        const invoice = await fetch(`${urlOf('billing')}/invoices/${orderId}`);
        await invoice.arrayBuffer();
        return changes.length > 0 && invoice.status === 200 ? true : undefined;
      },
      patiently,
    );
  });

  after(async () => {
    const left = await (storefront as RunningStorefront | undefined)?.stop();
    assert.deepEqual(left ?? [], []);
  });

  test('every process exports its expected metric families, non-empty, and promtool accepts them', async () => {
    const read = async () => {
      const supervisor = await fetch(storefront.system.metricsUrl!);
      const texts: Record<string, string> = { sluice: await supervisor.text() };
      for (const instance of storefront.system.instances) {
        texts[instance.service] = await (await fetch(`${instance.url}/metrics`)).text();
      }
      const problems: string[] = [];
      for (const [process, expected] of Object.entries(EXPECTED)) {
        const found = families(texts[process] ?? '');
        for (const family of expected) {
          if ((found.get(family) ?? 0) === 0) problems.push(`${process}: ${family} has no sample`);
        }
      }
      return { texts, problems };
    };
    // Inventory may apply the event before fulfillment's handler returned and acked.
    let last = await read();
    await waitFor(
      'every expected family has samples',
      async () => {
        last = await read();
        return last.problems.length === 0 ? true : undefined;
      },
      patiently,
    ).catch(() => {});
    const { texts, problems } = last;
    for (const [process, text] of Object.entries(texts)) {
      const lint = promtool(text);
      if (lint !== '') problems.push(`${process}: promtool says ${lint}`);
    }
    assert.deepEqual(problems, []);
    assert.match(
      texts.fulfillment!,
      /sluice_messaging_consumer_lag\{driver="sqlite",destination="orders",group=""\}/,
    );
    assert.match(
      texts.billing!,
      /sluice_messaging_consumer_lag\{driver="sqlite",destination="order-events",group="billing"\}/,
    );
  });

  test('one order is one trace: gateway, orders, the queue, fulfillment, payment, inventory, billing', async () => {
    const wanted = ['billing', 'fulfillment', 'inventory', 'orders', 'payment', 'sluice'];
    const trace = await waitFor(
      'the order trace reached the store',
      async () => {
        const found = store
          .searchTraces({ attribute: { key: 'messaging.destination.name', value: 'orders' } })
          .find((t: TraceSummary) => wanted.every((s) => t.services.includes(s)));
        return found;
      },
      patiently,
    );
    const detail = store.getTrace(trace.traceId)!;
    const names = detail.spans.map((s) => `${s.service}:${s.kind}:${s.name}`);
    for (const expected of [
      // Server spans are named by route (`http.route`), not by path with its ids.
      'orders:server:POST /api/orders',
      'orders:producer:send orders',
      'fulfillment:consumer:process orders',
      'payment:server:POST /charges',
      'fulfillment:producer:send order-events',
      'inventory:consumer:process order-events',
      'billing:consumer:process order-events',
    ]) {
      assert.ok(names.includes(expected), `${expected} in ${names.join(', ')}`);
    }
    const byId = new Map(detail.spans.map((s) => [s.spanId, s]));
    const process = detail.spans.find((s) => s.name === 'process orders')!;
    assert.equal(byId.get(process.links[0]!.spanId)?.name, 'send orders', 'process links to send');
    const root = detail.spans.find((s) => s.parentSpanId === undefined)!;
    assert.equal(root.service, 'sluice', 'the trace starts at the gateway');
    const logs = store.logs({ traceId: trace.traceId });
    assert.ok(
      logs.records.some((r) => r.service === 'inventory' && r.message === 'stock decremented'),
      'the logs of the trace join it by trace id',
    );
  });

  test('the store scrapes every process and sidecar, and keeps the merged log', async () => {
    const { instances, sidecars } = storefront.system;
    const targets = [...instances, ...sidecars];
    assert.ok(sidecars.length > 0, 'the storefront runs in the mesh');
    const up = await waitFor(
      'every instance and sidecar scraped',
      async () => {
        const series = store.series({ name: 'up', from: 0, to: Date.now() + 1000 });
        const healthy = series.filter((s) => s.points.at(-1)![1] === 1);
        return healthy.length === targets.length ? series : undefined;
      },
      patiently,
    );
    assert.deepEqual(
      new Set(up.map((s) => s.labels.service)),
      new Set(targets.map((t) => t.service)),
    );
    assert.ok(store.metricNames().includes('sluice_gateway_requests_total'));
    // Fulfillment calls payment through the mesh: its sidecar's metrics reach the store.
    const meshed = store.series({
      name: 'sluice_mesh_requests_total',
      labels: { service: 'fulfillment-sidecar' },
      from: 0,
      to: Date.now() + 1000,
    });
    assert.ok(meshed.length > 0, 'the sidecar metrics are in the store');
    assert.ok(store.logs({ service: 'orders' }).records.length > 0);
    assert.ok(store.services().some((s) => s.name === 'payment' && s.spans > 0));
  });

  test('a real Prometheus scrapes every process', { timeout: 90_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'obs-prometheus-'));
    const [port] = await freePorts('127.0.0.1', 1);
    const targets = storefront.system.instances.map((i) => new URL(i.url).host);
    const supervisor = new URL(storefront.system.metricsUrl!).host;
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global: { scrape_interval: 1s, scrape_timeout: 1s }',
        'scrape_configs:',
        `  - job_name: storefront`,
        `    static_configs: [{ targets: [${targets.map((t) => `"${t}"`).join(', ')}] }]`,
        `  - job_name: sluice`,
        `    static_configs: [{ targets: ["${supervisor}"] }]`,
        '',
      ].join('\n'),
    );
    const prometheus = spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--storage.tsdb.retention.time=1h',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    prometheus.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    prometheus.on('error', () => {});
    try {
      const health = await waitFor(
        'Prometheus reports every target up',
        async () => {
          const res = await fetch(`http://127.0.0.1:${port}/api/v1/targets`).catch(() => undefined);
          if (res === undefined || !res.ok) return undefined;
          const body = await json<{
            data: { activeTargets: { health: string; scrapeUrl: string; lastError: string }[] };
          }>(res);
          const active = body.data.activeTargets;
          return active.length === targets.length + 1 && active.every((t) => t.health === 'up')
            ? active
            : undefined;
        },
        patiently,
      ).catch((error: unknown) => {
        throw new Error(`${String(error)}\n${stderr}`);
      });
      assert.equal(health.length, 8);
      const query = await fetch(
        `http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent('sluice_messaging_acked_total')}`,
      );
      const result = await json<{ data: { result: unknown[] } }>(query);
      assert.ok(result.data.result.length >= 3, 'Prometheus holds the acked totals');
    } finally {
      prometheus.kill('SIGTERM');
      await new Promise((resolve) => prometheus.once('close', resolve));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
