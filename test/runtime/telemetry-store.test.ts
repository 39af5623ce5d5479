import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { defineCounter } from '../../src/observe/index.js';
import { parseSluiceConfig } from '../../src/runtime/index.js';
import { TelemetryStoreComponent } from '../../src/runtime/telemetry-store.js';
import { startOtlpCollector } from '../support/otlp-collector.js';

const dir = mkdtempSync(join(tmpdir(), 'obs-runtime-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('telemetry.store', () => {
  it('is validated with the rest of the file', () => {
    const text = [
      'version: 1',
      'telemetry:',
      '  store: { maxSpans: 0, maxAge: soon, forward: nowhere, colour: red }',
    ].join('\n');
    assert.throws(
      () => parseSluiceConfig(text, { file: 's.yaml', env: {} }),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, 'SLUICE_CONFIG_INVALID');
        for (const key of ['maxSpans', 'maxAge', 'forward', 'colour']) {
          assert.match(error.message, new RegExp(`telemetry\\.store\\.${key}`));
        }
        return true;
      },
    );
    const ok = parseSluiceConfig('version: 1\ntelemetry: { store: { maxAge: 1h, port: 0 } }', {
      env: {},
    });
    assert.equal(ok.telemetry?.store?.maxAge, '1h');
  });

  it('forwards what it receives to an external collector as well', async () => {
    const collector = await startOtlpCollector();
    const component = new TelemetryStoreComponent({
      config: { path: 'forward.db', forward: collector.url },
      cwd: dir,
      host: '127.0.0.1',
      registry: new Registry(),
      targets: () => [],
    });
    await component.start();
    try {
      const body = JSON.stringify({ resourceLogs: [] });
      const res = await fetch(`${component.url}/v1/logs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      assert.equal(res.status, 200);
      for (let i = 0; i < 200 && collector.received.length === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.deepEqual(
        collector.received.map((r) => [r.path, r.body.toString()]),
        [['/v1/logs', body]],
      );
    } finally {
      await component.stop();
      collector.close();
    }
  });

  it('receives OTLP, scrapes its targets and its own registry, logs, and keeps it all across a restart', async () => {
    const registry = new Registry();
    defineCounter({ name: 'sluice_obs_test_total', help: 'A test counter.', registry }).inc();
    const options = {
      config: { path: 'telemetry.db', maxAge: '1h' },
      cwd: dir,
      host: '127.0.0.1',
      registry,
      targets: () => [{ url: 'http://127.0.0.1:1/metrics', labels: { service: 'gone' } }],
    };
    const component = new TelemetryStoreComponent(options);
    await component.start();
    try {
      const startNs = BigInt(Date.now()) * 1_000_000n;
      const span = {
        traceId: 'ab'.repeat(16),
        spanId: 'cd'.repeat(8),
        name: 'GET /x',
        kind: 2,
        startTimeUnixNano: String(startNs),
        endTimeUnixNano: String(startNs + 5_000_000n),
      };
      const res = await fetch(`${component.url}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [span] }] }] }),
      });
      assert.equal(res.status, 200);
      await component.scrape();
      component.addLog({ level: 40, time: Date.now(), msg: 'slow', service: 'orders', k: 1 });
      await new Promise((resolve) => setImmediate(resolve));
      const store = component.store!;
      assert.equal(store.getTrace('ab'.repeat(16))?.spans[0]?.durationMs, 5);
      assert.deepEqual(
        store.series({ name: 'sluice_obs_test_total', from: 0, to: Date.now() + 1 })[0]?.labels,
        { service: 'sluice' },
      );
      assert.equal(
        store.series({ name: 'up', labels: { service: 'gone' }, from: 0, to: Date.now() + 1 })[0]
          ?.points[0]?.[1],
        0,
      );
      assert.deepEqual(
        store.logs({ minLevel: 'warn' }).records.map((r) => [r.service, r.message, r.attributes.k]),
        [['orders', 'slow', 1]],
      );
    } finally {
      await component.stop();
    }
    assert.equal(component.store, undefined);
    const again = new TelemetryStoreComponent(options);
    await again.start();
    try {
      assert.equal(again.store!.stats().counts.spans, 1, 'the spans survived the restart');
      assert.equal(again.store!.stats().counts.logs, 1);
    } finally {
      await again.stop();
    }
  });
});
