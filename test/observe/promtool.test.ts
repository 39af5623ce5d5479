import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { bridgeMetrics, collectProcessMetrics, defineHistogram } from '../../src/observe/index.js';
import { publishEveryEvent } from './publish-all.js';

function promtoolCheck(
  text: string,
  command = 'promtool',
): { status: number | null; output: string } {
  const result = spawnSync(command, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  const missing = (result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
  assert.ok(
    !missing,
    'promtool is not installed; `apt-get install prometheus` provides it (Debian package)',
  );
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('promtool check metrics', () => {
  it('accepts the output with every bridge metric, folded series and process metrics', async () => {
    const registry = new Registry();
    collectProcessMetrics(registry);
    const stop = bridgeMetrics(registry);
    try {
      publishEveryEvent('payment');
      publishEveryEvent('inventory');
      for (let i = 0; i < 120; i += 1) publishEveryEvent(`tenant-${i}`);
    } finally {
      stop();
    }
    defineHistogram({ name: 'sluice_request_body_bytes', help: 'Body sizes.', registry }).observe(
      {},
      512,
    );
    const text = await registry.metrics();
    for (const name of [
      'sluice_breaker_state',
      'sluice_breaker_calls_total',
      'sluice_breaker_transitions_total',
      'sluice_breaker_slow_calls_total',
      'sluice_breaker_call_duration_seconds_bucket',
      'sluice_retry_attempts_total',
      'sluice_retry_give_ups_total',
      'sluice_timeout_expirations_total',
      'sluice_bulkhead_rejections_total',
      'sluice_hedge_attempts_total',
      'sluice_hedge_wins_total',
      'sluice_ratelimit_decisions_total',
      'sluice_ratelimit_store_errors_total',
      'sluice_concurrency_limit_executions',
      'sluice_concurrency_inflight_executions',
      'sluice_shedder_rejections_total',
      'sluice_channel_overflow_total',
      'sluice_metric_series_folded_total',
      'process_cpu_seconds_total',
    ]) {
      assert.match(text, new RegExp(`^${name}[{ ]`, 'm'), `${name} has a sample`);
    }
    const { status, output } = promtoolCheck(text);
    assert.equal(output.trim(), '');
    assert.equal(status, 0);
  });

  it('fails output that breaks the conventions, so the check above means something', () => {
    const { status, output } = promtoolCheck(
      '# HELP sluice_jobs Jobs.\n# TYPE sluice_jobs counter\nsluice_jobs 1\n',
    );
    assert.notEqual(status, 0);
    assert.match(output, /_total/);
  });

  it('says how to install promtool when it is missing', () => {
    assert.throws(
      () => promtoolCheck('', 'promtool-not-installed-here'),
      /apt-get install prometheus/,
    );
  });
});
