import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Registry } from 'prom-client';
import { isSluiceError } from '../../src/core/errors.js';
import {
  assertMetricName,
  collectProcessMetrics,
  defineCounter,
  defineGauge,
  defineHistogram,
  metricsRegistry,
} from '../../src/observe/index.js';

async function series(registry: Registry, name: string): Promise<Map<string, number>> {
  const metric = registry.getSingleMetric(name);
  assert.ok(metric, `${name} is registered`);
  const { values } = await metric.get();
  return new Map(values.map((v) => [JSON.stringify(v.labels), v.value]));
}

describe('metric naming', () => {
  const invalid = (name: string, type: 'counter' | 'gauge' | 'histogram', pattern: RegExp) =>
    assert.throws(
      () => assertMetricName(name, type),
      (e: unknown) => isSluiceError(e, 'SLUICE_INVALID_ARGUMENT') && pattern.test(String(e)),
    );

  it('accepts names in the scheme', () => {
    assertMetricName('sluice_requests_total', 'counter');
    assertMetricName('sluice_request_duration_seconds', 'histogram');
    assertMetricName('sluice_body_size_bytes', 'histogram');
    assertMetricName('sluice_breaker_state', 'gauge');
  });

  it('rejects names outside the sluice_ namespace or not in snake case', () => {
    invalid('http_requests_total', 'counter', /start with "sluice_"/);
    invalid('sluice_Requests_total', 'counter', /snake case/);
    invalid('sluice__x_total', 'counter', /snake case/);
    invalid('sluice_requests_total_', 'counter', /snake case/);
  });

  it('rejects scaled units', () => {
    invalid('sluice_latency_ms', 'gauge', /unit "ms"/);
    invalid('sluice_request_duration_milliseconds', 'histogram', /unit "milliseconds"/);
    invalid('sluice_payload_kilobytes', 'gauge', /base units/);
  });

  it('requires _total on counters and only on counters', () => {
    invalid('sluice_requests', 'counter', /must end in "_total"/);
    invalid('sluice_inflight_total', 'gauge', /only counters/);
  });

  it('requires a unit suffix on histograms', () => {
    invalid('sluice_request_duration', 'histogram', /must end in its unit/);
  });

  it('rejects reserved, malformed and duplicate label names', () => {
    const registry = new Registry();
    for (const labelNames of [['le'], ['Bad'], ['__name'], ['a', 'a']]) {
      assert.throws(
        () => defineCounter({ name: 'sluice_x_total', help: 'x', labelNames, registry }),
        (e: unknown) => isSluiceError(e, 'SLUICE_INVALID_ARGUMENT'),
      );
    }
    assert.equal(registry.getSingleMetric('sluice_x_total'), undefined);
  });
});

describe('defining metrics', () => {
  it('returns the same metric when defined twice with the same shape', async () => {
    const registry = new Registry();
    const options = { name: 'sluice_jobs_total', help: 'jobs', labelNames: ['queue'], registry };
    defineCounter(options).inc({ queue: 'a' });
    defineCounter(options).inc({ queue: 'a' }, 2);
    assert.equal((await series(registry, 'sluice_jobs_total')).get('{"queue":"a"}'), 3);
  });

  it('refuses a second definition with another type or other labels', () => {
    const registry = new Registry();
    defineCounter({ name: 'sluice_jobs_total', help: 'jobs', labelNames: ['queue'], registry });
    assert.throws(
      () => defineCounter({ name: 'sluice_jobs_total', help: 'j', labelNames: ['q'], registry }),
      /already defined as a counter with labels \[queue\]/,
    );
    defineGauge({ name: 'sluice_size_bytes', help: 'size', registry });
    assert.throws(
      () => defineHistogram({ name: 'sluice_size_bytes', help: 'x', registry }),
      /already defined as a gauge/,
    );
  });

  it('defines the metric afresh after the registry was cleared', async () => {
    const registry = new Registry();
    const options = { name: 'sluice_cleared_total', help: 'c', registry };
    defineCounter(options).inc();
    registry.clear();
    defineCounter(options).inc();
    assert.equal((await series(registry, 'sluice_cleared_total')).get('{}'), 1);
  });

  it('refuses a name registered directly with prom-client', () => {
    const registry = new Registry();
    new Counter({ name: 'sluice_raw_total', help: 'raw', registers: [registry] });
    assert.throws(
      () => defineCounter({ name: 'sluice_raw_total', help: 'raw', registry }),
      /registered outside Sluice/,
    );
  });

  it('rejects a non-positive series budget', () => {
    assert.throws(
      () =>
        defineCounter({
          name: 'sluice_y_total',
          help: 'y',
          maxSeries: 0,
          registry: new Registry(),
        }),
      /maxSeries must be a positive integer/,
    );
  });

  it('uses the process registry by default, the same one every time', () => {
    assert.equal(metricsRegistry(), metricsRegistry());
    const counter = defineCounter({ name: 'sluice_default_registry_total', help: 'd' });
    counter.inc();
    assert.ok(metricsRegistry().getSingleMetric('sluice_default_registry_total'));
  });

  it('gauges set, add and subtract; histograms observe and time', async () => {
    const registry = new Registry();
    const gauge = defineGauge({ name: 'sluice_depth', help: 'd', labelNames: ['q'], registry });
    gauge.set({ q: 'a' }, 5);
    gauge.inc({ q: 'a' }, 2);
    gauge.dec({ q: 'a' });
    assert.equal((await series(registry, 'sluice_depth')).get('{"q":"a"}'), 6);

    const histogram = defineHistogram({
      name: 'sluice_wait_seconds',
      help: 'w',
      labelNames: ['q'],
      buckets: [0.1, 1],
      registry,
    });
    histogram.observe({ q: 'a' }, 0.5);
    const seconds = histogram.startTimer({ q: 'a' })();
    assert.ok(seconds >= 0);
    const text = await registry.getSingleMetricAsString('sluice_wait_seconds');
    assert.match(text, /sluice_wait_seconds_bucket\{le="1",q="a"\} 2/);
    assert.match(text, /sluice_wait_seconds_count\{q="a"\} 2/);
  });

  it('opts in to process metrics once per registry', async () => {
    const registry = new Registry();
    assert.equal(registry.getSingleMetric('process_cpu_seconds_total'), undefined);
    collectProcessMetrics(registry);
    collectProcessMetrics(registry);
    assert.ok(registry.getSingleMetric('process_cpu_seconds_total'));
    assert.ok(registry.getSingleMetric('nodejs_heap_size_used_bytes'));
    assert.ok(registry.getSingleMetric('nodejs_active_handles'));
    assert.equal(registry.getSingleMetric('nodejs_active_handles_total'), undefined);
  });

  it('applies a prefix to the process metrics', () => {
    const registry = new Registry();
    collectProcessMetrics(registry, { prefix: 'storefront_' });
    assert.ok(registry.getSingleMetric('storefront_process_cpu_seconds_total'));
    assert.equal(registry.getSingleMetric('storefront_nodejs_active_handles_total'), undefined);
  });
});

describe('cardinality guard', () => {
  it('folds free labels into "other" once the series budget is spent', async () => {
    const registry = new Registry();
    const counter = defineCounter({
      name: 'sluice_requests_total',
      help: 'r',
      labelNames: ['route', 'outcome'],
      labelValues: { outcome: ['ok', 'error'] },
      maxSeries: 2,
      registry,
    });
    for (let i = 0; i < 50; i += 1) counter.inc({ route: `/user/${i}`, outcome: 'ok' });
    counter.inc({ route: '/user/99', outcome: 'error' });
    counter.inc({ route: '/user/0', outcome: 'ok' });

    const values = await series(registry, 'sluice_requests_total');
    assert.deepEqual(
      values,
      new Map([
        ['{"route":"/user/0","outcome":"ok"}', 2],
        ['{"route":"/user/1","outcome":"ok"}', 1],
        ['{"route":"other","outcome":"ok"}', 48],
        ['{"route":"other","outcome":"error"}', 1],
      ]),
    );
    const folded = await series(registry, 'sluice_metric_series_folded_total');
    assert.equal(folded.get('{"metric":"sluice_requests_total"}'), 49);
  });

  it('records values outside a declared value set as "other"', async () => {
    const registry = new Registry();
    const counter = defineCounter({
      name: 'sluice_calls_total',
      help: 'c',
      labelNames: ['outcome'],
      labelValues: { outcome: ['ok'] },
      registry,
    });
    counter.inc({ outcome: 'ok' });
    counter.inc({ outcome: 'surprise' });
    const values = await series(registry, 'sluice_calls_total');
    assert.equal(values.get('{"outcome":"ok"}'), 1);
    assert.equal(values.get('{"outcome":"other"}'), 1);
    assert.equal(values.get('{"outcome":"surprise"}'), undefined);
  });

  it('frees a slot when a series is removed, and all slots on reset', async () => {
    const registry = new Registry();
    const gauge = defineGauge({
      name: 'sluice_peer_up',
      help: 'p',
      labelNames: ['peer'],
      maxSeries: 1,
      registry,
    });
    gauge.set({ peer: 'a' }, 1);
    gauge.remove({ peer: 'a' });
    gauge.set({ peer: 'b' }, 1);
    assert.deepEqual(await series(registry, 'sluice_peer_up'), new Map([['{"peer":"b"}', 1]]));
    gauge.reset();
    gauge.set({ peer: 'c' }, 1);
    assert.deepEqual(await series(registry, 'sluice_peer_up'), new Map([['{"peer":"c"}', 1]]));
  });

  it('bound series count like unbound ones, fold per observation and survive a reset', async () => {
    const registry = new Registry();
    const counter = defineCounter({
      name: 'sluice_bound_total',
      help: 'b',
      labelNames: ['route'],
      maxSeries: 1,
      registry,
    });
    const histogram = defineHistogram({
      name: 'sluice_bound_seconds',
      help: 'b',
      labelNames: ['route'],
      buckets: [1],
      registry,
    });
    const a = counter.bind({ route: 'a' });
    const b = counter.bind({ route: 'b' });
    a.inc();
    a.inc(2);
    counter.inc({ route: 'a' });
    b.inc();
    b.inc();
    assert.deepEqual(
      await series(registry, 'sluice_bound_total'),
      new Map([
        ['{"route":"a"}', 4],
        ['{"route":"other"}', 2],
      ]),
    );
    const folded = await series(registry, 'sluice_metric_series_folded_total');
    assert.equal(folded.get('{"metric":"sluice_bound_total"}'), 2, 'each folded inc counts');
    counter.reset();
    b.inc();
    a.inc();
    assert.deepEqual(
      await series(registry, 'sluice_bound_total'),
      new Map([
        ['{"route":"b"}', 1],
        ['{"route":"other"}', 1],
      ]),
      'after a reset the bound series take their slots again, first come first served',
    );
    histogram.bind({ route: 'a' }).observe(0.5);
    const observed = await registry.getSingleMetric('sluice_bound_seconds')!.get();
    const count = observed.values.find(
      (v) => (v as { metricName?: string }).metricName === 'sluice_bound_seconds_count',
    );
    assert.deepEqual([count?.labels, count?.value], [{ route: 'a' }, 1]);
  });

  it('bound series record what prom-client records unbound, through removes, resets and bad values', async () => {
    const registry = new Registry();
    const define = (name: string) => ({
      counter: defineCounter({ name: `${name}_total`, help: 'b', labelNames: ['route'], registry }),
      histogram: defineHistogram({
        name: `${name}_seconds`,
        help: 'b',
        labelNames: ['route'],
        buckets: [0.01, 0.1, 1],
        registry,
      }),
    });
    const bound = define('sluice_fast');
    const plain = define('sluice_plain');
    const counter = bound.counter.bind({ route: 'a' });
    const histogram = bound.histogram.bind({ route: 'a' });
    const both = (value: number) => {
      counter.inc(value);
      plain.counter.inc({ route: 'a' }, value);
      histogram.observe(value);
      plain.histogram.observe({ route: 'a' }, value);
    };
    const exposed = async (name: string) =>
      (await registry.getSingleMetricAsString(name)).replace(/^.*sluice_(fast|plain)/gm, '');
    const same = async (when: string) => {
      assert.equal(
        await exposed('sluice_fast_total'),
        await exposed('sluice_plain_total'),
        `counter ${when}`,
      );
      assert.equal(
        await exposed('sluice_fast_seconds'),
        await exposed('sluice_plain_seconds'),
        `histogram ${when}`,
      );
    };
    for (const value of [0.005, 0.01, 0.05, 0.5, 1, 7, 0, 0.2]) both(value);
    await same('after values in every bucket and above the last');
    bound.counter.remove({ route: 'a' });
    bound.histogram.remove({ route: 'a' });
    plain.counter.remove({ route: 'a' });
    plain.histogram.remove({ route: 'a' });
    for (const value of [0.3, 0.3, 2]) both(value);
    await same('after the series was removed');
    for (const metric of [bound.counter, bound.histogram, plain.counter, plain.histogram]) {
      metric.reset();
    }
    for (const value of [0.02, 0.02, 0.02]) both(value);
    await same('after a reset');
    assert.throws(() => counter.inc(-1), /decrease/);
    assert.throws(() => histogram.observe(Number.NaN), /not a valid number/);
    await same('after refused values');
  });
});
