import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Registry } from 'prom-client';
import {
  otlpForwarder,
  parsePrometheusText,
  type ScrapeTarget,
  type SpanRecord,
  scrapeOnce,
  TelemetryStore,
} from '../../../src/observe/store/index.js';
import { listen } from '../../../src/runtime/ports.js';
import { startOtlpCollector } from '../../support/otlp-collector.js';

const dir = mkdtempSync(join(tmpdir(), 'obs-caps-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function span(i: number, startMs: number): SpanRecord {
  const hex = i.toString(16).padStart(16, '0');
  return {
    traceId: hex.repeat(2),
    spanId: hex,
    service: 'orders',
    name: `span ${i}`,
    kind: 'server',
    startMs,
    durationMs: 1,
    status: 'unset',
    attributes: {},
    resource: {},
    scope: 'test',
    events: [],
    links: [],
  };
}

describe('the telemetry store', () => {
  it('keeps at most the count cap, dropping the oldest, and counts what it dropped', async () => {
    const registry = new Registry();
    const store = new TelemetryStore({
      path: join(dir, 'count.db'),
      caps: { maxSpans: 100, maxLogs: 10 },
      registry,
    });
    const now = Date.now();
    for (let i = 1; i <= 250; i++) store.addSpans([span(i, now + i)]);
    for (let i = 0; i < 30; i++) {
      store.addLogs([
        { timeMs: now, service: 'orders', level: 'info', message: `line ${i}`, attributes: {} },
      ]);
    }
    store.prune();
    const stats = store.stats();
    assert.equal(stats.counts.spans, 100);
    assert.equal(stats.dropped.spans, 150);
    assert.equal(stats.counts.logs, 10);
    assert.equal(store.getTrace(span(150, 0).traceId), undefined, 'the oldest went first');
    assert.ok(store.getTrace(span(151, 0).traceId));
    assert.deepEqual(stats.caps.maxSpans, 100);
    const text = await registry.metrics();
    assert.match(text, /sluice_telemetry_dropped_total\{signal="spans",reason="count"\} 150/);
    assert.match(text, /sluice_telemetry_stored\{signal="spans"\} 100/);
    store.close();
  });

  it('never lets a reader see more than a count cap, whatever the size of the batch', async () => {
    const registry = new Registry();
    const path = join(dir, 'insert-cap.db');
    const store = new TelemetryStore({
      path,
      caps: { maxSpans: 100, maxLogs: 10, maxSamples: 50 },
      registry,
    });
    const reader = new Database(path, { readonly: true });
    const count = (table: string): number =>
      (reader.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
    const now = Date.now();
    let next = 1;
    for (const size of [1, 60, 39, 1, 7, 250, 3]) {
      store.addSpans(Array.from({ length: size }, () => span(next, now + next++)));
      assert.ok(count('spans') <= 100, `${count('spans')} spans after a batch of ${size}`);
    }
    for (let i = 0; i < 4; i++) {
      store.addLogs(
        Array.from({ length: 6 }, (_, j) => ({
          timeMs: now,
          service: 'orders',
          level: 'info' as const,
          message: `line ${i * 6 + j}`,
          attributes: {},
        })),
      );
      assert.ok(count('logs') <= 10);
    }
    store.addSamples(
      Array.from({ length: 80 }, (_, i) => ({
        name: 'up',
        labels: { service: `s${i % 3}` },
        timeMs: now + i,
        value: i,
      })),
    );
    assert.equal(count('samples'), 50);
    const inserted = next - 1;
    assert.equal(count('spans'), 100);
    assert.equal(store.getTrace(span(inserted - 100, 0).traceId), undefined, 'oldest went first');
    assert.ok(store.getTrace(span(inserted - 99, 0).traceId));
    assert.deepEqual(
      store.logs({ limit: 20 }).records.map((r) => r.message),
      Array.from({ length: 10 }, (_, i) => `line ${23 - i}`),
    );
    assert.deepEqual(
      store
        .series({ name: 'up', from: 0, to: now + 100 })
        .flatMap((s) => s.points.map((p) => p[1]))
        .sort((a, b) => a - b),
      Array.from({ length: 50 }, (_, i) => 30 + i),
    );
    const stats = store.stats();
    assert.deepEqual(stats.counts, { spans: 100, logs: 10, samples: 50 });
    assert.deepEqual(stats.dropped, { spans: inserted - 100, logs: 14, samples: 30 });
    const text = await registry.metrics();
    assert.match(
      text,
      new RegExp(
        `sluice_telemetry_dropped_total\\{signal="spans",reason="count"\\} ${inserted - 100}\n`,
      ),
    );
    assert.match(text, /sluice_telemetry_dropped_total\{signal="logs",reason="count"\} 14\n/);
    assert.match(text, /sluice_telemetry_dropped_total\{signal="samples",reason="count"\} 30\n/);
    assert.match(text, /sluice_telemetry_stored\{signal="samples"\} 50\n/);
    reader.close();
    store.close();
  });

  it('counts only the samples it keeps: values that are not numbers take no room', () => {
    const store = new TelemetryStore({
      path: ':memory:',
      caps: { maxSamples: 5 },
      registry: new Registry(),
    });
    const sample = (value: number, timeMs: number) => ({
      name: 'x',
      labels: {},
      timeMs,
      value,
    });
    store.addSamples([
      ...Array.from({ length: 10 }, (_, i) => sample(Number.NaN, i)),
      ...Array.from({ length: 5 }, (_, i) => sample(i, 100 + i)),
      sample(Number.POSITIVE_INFINITY, 200),
    ]);
    const stats = store.stats();
    assert.equal(stats.counts.samples, 5);
    assert.equal(stats.dropped.samples, 0);
    assert.equal(store.series({ name: 'x', from: 0, to: 1000 })[0]?.points.length, 5);
    store.close();
  });

  it('reads only the newest point of each series in the range when asked', () => {
    const store = new TelemetryStore({ path: ':memory:', registry: new Registry() });
    const sample = (queue: string, value: number, timeMs: number) => ({
      name: 'depth',
      labels: { queue },
      timeMs,
      value,
    });
    store.addSamples([
      sample('a', 1, 100),
      sample('a', 2, 200),
      sample('a', 3, 300),
      sample('b', 7, 150),
      sample('c', 9, 50),
    ]);
    const newest = store.series({ name: 'depth', from: 100, to: 250, newest: true });
    assert.deepEqual(
      newest.map((s) => [s.labels.queue, s.points]),
      [
        ['a', [[200, 2]]],
        ['b', [[150, 7]]],
      ],
    );
    assert.equal(store.series({ name: 'depth', from: 100, to: 250 })[0]?.points.length, 2);
    store.close();
  });

  it('drops what is older than the age cap, and keeps the rest across a reopen', () => {
    let now = 1_000_000;
    const path = join(dir, 'age.db');
    const store = new TelemetryStore({
      path,
      caps: { maxAgeMs: 1000 },
      now: () => now,
      registry: new Registry(),
    });
    store.addSpans([span(1, 999_500), span(2, 1_000_400)]);
    store.addSamples([{ name: 'up', labels: { service: 'a' }, timeMs: 999_000, value: 1 }]);
    now = 1_001_000;
    assert.equal(store.prune(), 2);
    store.close();
    const reopened = new TelemetryStore({ path, now: () => now, registry: new Registry() });
    assert.equal(reopened.stats().counts.spans, 1, 'nothing is lost on a restart');
    assert.ok(reopened.getTrace(span(2, 0).traceId));
    assert.deepEqual(reopened.metricNames(), [], 'a series without samples goes with them');
    reopened.close();
  });

  it('refuses caps that are not positive integers', () => {
    assert.throws(
      () => new TelemetryStore({ path: ':memory:', caps: { maxSpans: 0 } }),
      (error: Error & { code?: string }) => error.code === 'SLUICE_INVALID_ARGUMENT',
    );
  });
});

describe('Prometheus text', () => {
  it('parses samples with escaped labels, timestamps and special values, skipping bad lines', () => {
    const text = [
      '# HELP x help',
      '# TYPE x counter',
      'x_total{a="1",b="q\\"uote\\\\",} 3',
      'y 2.5 1700000000000',
      'z{le="+Inf"} +Inf',
      'broken{a=1} 3',
      'nan NaN',
      '',
    ].join('\n');
    const samples = parsePrometheusText(text, 42, { service: 's' });
    assert.deepEqual(
      samples.map((s) => [s.name, s.labels, s.timeMs, s.value]),
      [
        ['x_total', { a: '1', b: 'q"uote\\', service: 's' }, 42, 3],
        ['y', { service: 's' }, 1_700_000_000_000, 2.5],
        ['z', { le: '+Inf', service: 's' }, 42, Number.POSITIVE_INFINITY],
        ['nan', { service: 's' }, 42, Number.NaN],
      ],
    );
  });

  it("keeps a sample's own label that the target's replaces as exported_<name>", () => {
    // A sidecar's breaker state per upstream instance, scraped as instance 0 of its service.
    const text = `sluice_mesh_breaker_state{upstream="payment",instance="payment-0"} 0
sluice_mesh_breaker_state{upstream="payment",instance="payment-1"} 2
same{instance="0"} 1
`;
    const target = { service: 'orders-sidecar', instance: '0' };
    assert.deepEqual(
      parsePrometheusText(text, 42, target).map((s) => s.labels),
      [
        {
          upstream: 'payment',
          instance: '0',
          exported_instance: 'payment-0',
          service: 'orders-sidecar',
        },
        {
          upstream: 'payment',
          instance: '0',
          exported_instance: 'payment-1',
          service: 'orders-sidecar',
        },
        { instance: '0', service: 'orders-sidecar' },
      ],
    );
  });
});

describe('scraping and forwarding', () => {
  it('scrapes each target into the store with an up sample, down ones included', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('sluice_x_total{k="v"} 7\n');
    });
    const port = await listen(server, 0, '127.0.0.1');
    const store = new TelemetryStore({ path: ':memory:', registry: new Registry() });
    try {
      await scrapeOnce(
        {
          store,
          targets: (): ScrapeTarget[] => [
            {
              url: `http://127.0.0.1:${port}/metrics`,
              labels: { service: 'orders', instance: '0' },
            },
            { url: 'http://127.0.0.1:1/metrics', labels: { service: 'gone' } },
          ],
          timeoutMs: 2000,
        },
        5000,
      );
      const x = store.series({ name: 'sluice_x_total', from: 0, to: 10_000 });
      assert.deepEqual(x, [
        {
          name: 'sluice_x_total',
          labels: { instance: '0', k: 'v', service: 'orders' },
          points: [[5000, 7]],
        },
      ]);
      const up = store
        .series({ name: 'up', from: 0, to: 10_000 })
        .map((s) => [s.labels.service, s.points[0]![1]]);
      assert.deepEqual(up.sort(), [
        ['gone', 0],
        ['orders', 1],
      ]);
    } finally {
      server.close();
      store.close();
    }
  });

  it('forwards requests as received and counts failures and drops', async () => {
    const collector = await startOtlpCollector();
    const registry = new Registry();
    try {
      const forward = otlpForwarder({ url: collector.url, registry });
      forward('traces', Buffer.from('{"resourceSpans":[]}'), 'application/json');
      const failing = otlpForwarder({ url: 'http://127.0.0.1:1', registry, maxInflight: 1 });
      failing('logs', Buffer.from('{}'), 'application/json');
      failing('logs', Buffer.from('{}'), 'application/json');
      for (
        let i = 0;
        i < 100 &&
        (collector.received.length === 0 ||
          !(await registry.metrics()).includes('outcome="failed"'));
        i++
      ) {
        await new Promise((resolve) => setImmediate(resolve));
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.deepEqual(
        collector.received.map((r) => [r.path, r.body.toString()]),
        [['/v1/traces', '{"resourceSpans":[]}']],
      );
      const text = await registry.metrics();
      assert.match(text, /sluice_telemetry_forwarded_total\{signal="logs",outcome="dropped"\} 1/);
      assert.match(text, /sluice_telemetry_forwarded_total\{signal="logs",outcome="failed"\} 1/);
      assert.throws(() => otlpForwarder({ url: 'not a url' }), /not a URL/);
    } finally {
      collector.close();
    }
  });
});
