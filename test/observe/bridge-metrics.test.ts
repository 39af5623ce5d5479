import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { channels } from '../../src/core/diagnostics.js';
import { bridgeMetrics } from '../../src/observe/index.js';
import { publishEveryEvent } from './publish-all.js';

async function value(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<number | undefined> {
  const metric = registry.getSingleMetric(name);
  assert.ok(metric, `${name} is registered`);
  const { values } = await metric.get();
  const want = JSON.stringify(labels);
  return values.find((v) => JSON.stringify(v.labels) === want)?.value;
}

function everyChannel() {
  return Object.entries(channels);
}

describe('bridgeMetrics', () => {
  it('keeps one metric per event kind', async () => {
    const registry = new Registry();
    const stop = bridgeMetrics(registry);
    try {
      publishEveryEvent('payment');
    } finally {
      stop();
    }
    const n = { name: 'payment' };
    const expected: Array<[string, Record<string, string>, number]> = [
      ['sluice_breaker_state', { ...n, state: 'open' }, 1],
      ['sluice_breaker_state', { ...n, state: 'closed' }, 0],
      ['sluice_breaker_state', { ...n, state: 'half-open' }, 0],
      ['sluice_breaker_state', { ...n, state: 'isolated' }, 0],
      ['sluice_breaker_transitions_total', { ...n, from: 'closed', to: 'open' }, 1],
      ['sluice_breaker_calls_total', { ...n, outcome: 'failure' }, 1],
      ['sluice_breaker_calls_total', { ...n, outcome: 'rejected' }, 1],
      ['sluice_breaker_slow_calls_total', n, 1],
      ['sluice_retry_attempts_total', n, 1],
      ['sluice_retry_give_ups_total', { ...n, reason: 'attempts' }, 1],
      ['sluice_timeout_expirations_total', n, 1],
      ['sluice_bulkhead_rejections_total', { ...n, outcome: 'rejected' }, 1],
      ['sluice_hedge_attempts_total', n, 1],
      ['sluice_hedge_wins_total', n, 1],
      ['sluice_ratelimit_decisions_total', { ...n, decision: 'allowed' }, 1],
      ['sluice_ratelimit_decisions_total', { ...n, decision: 'rejected' }, 1],
      ['sluice_ratelimit_store_errors_total', { ...n, mode: 'fail-open' }, 1],
      ['sluice_concurrency_limit_executions', n, 20],
      ['sluice_concurrency_inflight_executions', n, 7],
      ['sluice_shedder_rejections_total', n, 1],
      ['sluice_channel_overflow_total', { ...n, policy: 'drop-oldest' }, 1],
    ];
    for (const [metric, labels, want] of expected) {
      assert.equal(
        await value(registry, metric, labels),
        want,
        `${metric} ${JSON.stringify(labels)}`,
      );
    }
    const text = await registry.getSingleMetricAsString('sluice_breaker_call_duration_seconds');
    assert.match(text, /sluice_breaker_call_duration_seconds_sum\{name="payment"\} 1\.5/);
    assert.match(text, /sluice_breaker_call_duration_seconds_count\{name="payment"\} 1$/m);
  });

  it('moves the breaker state gauge to the latest state', async () => {
    const registry = new Registry();
    const stop = bridgeMetrics(registry);
    channels.breakerState.publish({ name: 'p', from: 'closed', to: 'open', reason: 'x' });
    channels.breakerState.publish({ name: 'p', from: 'open', to: 'half-open', reason: 'x' });
    stop();
    assert.equal(await value(registry, 'sluice_breaker_state', { name: 'p', state: 'open' }), 0);
    assert.equal(
      await value(registry, 'sluice_breaker_state', { name: 'p', state: 'half-open' }),
      1,
    );
  });

  it('counts store errors that failed closed, and hedges that lost', async () => {
    const registry = new Registry();
    const stop = bridgeMetrics(registry);
    channels.limiterStoreError.publish({ name: 'api', error: new Error('x'), failOpen: false });
    channels.hedge.publish({ name: 'api', winner: 1, started: 3 });
    channels.hedge.publish({ name: 'api', winner: 1, started: 1 });
    stop();
    const mode = { name: 'api', mode: 'fail-closed' };
    assert.equal(await value(registry, 'sluice_ratelimit_store_errors_total', mode), 1);
    assert.equal(await value(registry, 'sluice_hedge_attempts_total', { name: 'api' }), 2);
    assert.equal(await value(registry, 'sluice_hedge_wins_total', { name: 'api' }), undefined);
  });

  it('leaves no subscriber behind, so publishers skip building events', () => {
    for (const [key, channel] of everyChannel()) {
      assert.equal(channel.hasSubscribers, false, `${key} before`);
    }
    const stop = bridgeMetrics(new Registry());
    for (const [key, channel] of everyChannel()) {
      assert.equal(channel.hasSubscribers, true, `${key} while bridged`);
    }
    stop();
    stop();
    for (const [key, channel] of everyChannel()) {
      assert.equal(channel.hasSubscribers, false, `${key} after`);
    }
  });

  it('stops counting once unsubscribed', async () => {
    const registry = new Registry();
    const stop = bridgeMetrics(registry);
    channels.timeout.publish({ name: 't', timeoutMs: 1 });
    stop();
    channels.timeout.publish({ name: 't', timeoutMs: 1 });
    assert.equal(await value(registry, 'sluice_timeout_expirations_total', { name: 't' }), 1);
  });

  it('shares one subscription per registry among callers', async () => {
    const registry = new Registry();
    const first = bridgeMetrics(registry);
    const second = bridgeMetrics(registry);
    channels.shed.publish({ name: 's', retryAfterMs: 1 });
    assert.equal(await value(registry, 'sluice_shedder_rejections_total', { name: 's' }), 1);
    first();
    first();
    channels.shed.publish({ name: 's', retryAfterMs: 1 });
    assert.equal(await value(registry, 'sluice_shedder_rejections_total', { name: 's' }), 2);
    second();
    assert.equal(channels.shed.hasSubscribers, false);
  });

  it('bounds policy names and folds unknown enum values', async () => {
    const registry = new Registry();
    const stop = bridgeMetrics(registry);
    for (let i = 0; i < 150; i += 1) channels.timeout.publish({ name: `n${i}`, timeoutMs: 1 });
    channels.bulkhead.publish({ name: 'b', active: 1, queued: 0, outcome: 'weird' });
    stop();
    assert.equal(await value(registry, 'sluice_timeout_expirations_total', { name: 'other' }), 50);
    const outcome = { name: 'b', outcome: 'other' };
    assert.equal(await value(registry, 'sluice_bulkhead_rejections_total', outcome), 1);
  });

  it('reports a malformed event as a warning instead of throwing into the publisher', async () => {
    const registry = new Registry();
    const stop = bridgeMetrics(registry);
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      channels.hedge.publish({ name: 'h', winner: 1, started: Number.NaN });
      channels.concurrencyLimit.publish({ name: 'c', limit: 'many', inflight: 0 });
      channels.concurrencyLimit.publish({ name: 'c', limit: 'many', inflight: 0 });
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
      stop();
    }
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!.message, /sluice:concurrency:limit/);
  });
});
