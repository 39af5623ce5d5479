import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const rulesFile = fileURLToPath(new URL('../../alerts/sluice.rules.yml', import.meta.url));

interface Rule {
  alert: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
const rules = new Map(
  (parse(readFileSync(rulesFile, 'utf8')) as { groups: { rules: Rule[] }[] }).groups
    .flatMap((g) => g.rules)
    .map((r) => [r.alert, r]),
);

/** What promtool should see firing: the rule's own labels and annotations, filled in. */
function firing(alert: string, labels: Record<string, string>) {
  const rule = rules.get(alert)!;
  const fill = (text: string) =>
    text.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, name: string) => labels[name] ?? '');
  return {
    // An empty label value is no label at all to Prometheus.
    exp_labels: Object.fromEntries(
      Object.entries({ ...rule.labels, ...labels }).filter(([, v]) => v !== ''),
    ),
    exp_annotations: Object.fromEntries(
      Object.entries(rule.annotations).map(([k, v]) => [k, fill(v)]),
    ),
  };
}

const queue = { driver: 'sqlite', destination: 'orders', group: '' };

const tests = [
  {
    interval: '1m',
    input_series: [
      {
        series: 'sluice_breaker_state{job="a",instance="f:1",name="payment",state="open"}',
        values: '0 0 1x10',
      },
      {
        series: 'sluice_breaker_state{job="a",instance="f:1",name="catalog",state="open"}',
        values: '0x12',
      },
    ],
    alert_rule_test: [
      { eval_time: '2m', alertname: 'SluiceBreakerOpen', exp_alerts: [] },
      {
        eval_time: '5m',
        alertname: 'SluiceBreakerOpen',
        exp_alerts: [firing('SluiceBreakerOpen', { job: 'a', instance: 'f:1', name: 'payment' })],
      },
    ],
  },
  {
    interval: '1m',
    input_series: [
      {
        series: 'sluice_messaging_dead_letters{driver="sqlite",destination="orders",group=""}',
        values: '0+1x40',
      },
      {
        series:
          'sluice_messaging_dead_letters{driver="sqlite",destination="order-events",group="billing"}',
        values: '5x40',
      },
      {
        series: 'sluice_messaging_consumer_lag{driver="sqlite",destination="orders",group=""}',
        values: '2000x20',
      },
      {
        series:
          'sluice_messaging_consumer_lag{driver="sqlite",destination="order-events",group="billing"}',
        values: '10x20',
      },
      {
        series:
          'sluice_messaging_oldest_age_seconds{driver="sqlite",destination="orders",group=""}',
        values: '0+60x20',
      },
    ],
    alert_rule_test: [
      { eval_time: '5m', alertname: 'SluiceDeadLettersGrowing', exp_alerts: [] },
      {
        eval_time: '25m',
        alertname: 'SluiceDeadLettersGrowing',
        exp_alerts: [firing('SluiceDeadLettersGrowing', queue)],
      },
      {
        eval_time: '8m',
        alertname: 'SluiceConsumerLagHigh',
        exp_alerts: [firing('SluiceConsumerLagHigh', queue)],
      },
      // Over 300 s from minute 6, so firing after five more minutes.
      { eval_time: '9m', alertname: 'SluiceConsumerStalled', exp_alerts: [] },
      {
        eval_time: '12m',
        alertname: 'SluiceConsumerStalled',
        exp_alerts: [firing('SluiceConsumerStalled', queue)],
      },
    ],
  },
  {
    interval: '1m',
    input_series: [
      {
        series:
          'sluice_messaging_connected{job="app",instance="a:1",driver="postgres",connection="sluice/listener"}',
        values: '1 1 0x10',
      },
      {
        series:
          'sluice_messaging_connected{job="app",instance="a:1",driver="postgres",connection="sluice/pool"}',
        values: '1x12',
      },
    ],
    alert_rule_test: [
      { eval_time: '2m', alertname: 'SluiceEngineDisconnected', exp_alerts: [] },
      {
        eval_time: '5m',
        alertname: 'SluiceEngineDisconnected',
        exp_alerts: [
          firing('SluiceEngineDisconnected', {
            job: 'app',
            instance: 'a:1',
            driver: 'postgres',
            connection: 'sluice/listener',
          }),
        ],
      },
    ],
  },
  {
    interval: '1m',
    input_series: [
      {
        series:
          'sluice_gateway_requests_total{job="gw",route="orders",upstream="orders",status_class="2xx"}',
        values: '0+600x20',
      },
      {
        series:
          'sluice_gateway_requests_total{job="gw",route="orders",upstream="orders",status_class="5xx"}',
        values: '0+600x20',
      },
      {
        series:
          'sluice_gateway_requests_total{job="gw",route="products",upstream="catalog",status_class="2xx"}',
        values: '0+600x20',
      },
    ],
    alert_rule_test: [
      {
        eval_time: '15m',
        alertname: 'SluiceGateway5xxRatioHigh',
        exp_alerts: [firing('SluiceGateway5xxRatioHigh', { job: 'gw', route: 'orders' })],
      },
    ],
  },
  {
    interval: '1m',
    input_series: [
      {
        series: 'sluice_ratelimit_decisions_total{job="gw",name="login",decision="rejected"}',
        values: '0+6x70 426+6000x20',
      },
      {
        series: 'sluice_ratelimit_decisions_total{job="gw",name="orders",decision="rejected"}',
        values: '0+6000x90',
      },
    ],
    alert_rule_test: [
      { eval_time: '60m', alertname: 'SluiceRateLimitRejectionsSpike', exp_alerts: [] },
      {
        eval_time: '85m',
        alertname: 'SluiceRateLimitRejectionsSpike',
        exp_alerts: [firing('SluiceRateLimitRejectionsSpike', { job: 'gw', name: 'login' })],
      },
    ],
  },
  {
    interval: '1m',
    input_series: [
      // Expiry timestamps, with the evaluation a few minutes after the epoch.
      {
        series:
          'sluice_mesh_certificate_expiry_timestamp_seconds{kind="issuer",identity="spiffe://sluice/issuer"}',
        values: '259200x5',
      },
      {
        series:
          'sluice_mesh_certificate_expiry_timestamp_seconds{kind="anchor",identity="spiffe://sluice"}',
        values: '31536000x5',
      },
      {
        series:
          'sluice_mesh_certificate_expiry_timestamp_seconds{kind="leaf",identity="spiffe://sluice/svc/orders"}',
        values: '86400x5',
      },
      {
        series:
          'sluice_mesh_certificate_expiry_timestamp_seconds{kind="leaf",identity="spiffe://sluice/svc/payment"}',
        values: '1800x5',
      },
    ],
    alert_rule_test: [
      {
        eval_time: '2m',
        alertname: 'SluiceMeshCertificateExpiringSoon',
        exp_alerts: [
          firing('SluiceMeshCertificateExpiringSoon', {
            kind: 'issuer',
            identity: 'spiffe://sluice/issuer',
          }),
          firing('SluiceMeshCertificateExpiringSoon', {
            kind: 'leaf',
            identity: 'spiffe://sluice/svc/payment',
          }),
        ],
      },
    ],
  },
];

describe('the shipped alerting rules', () => {
  it('pass promtool check rules', () => {
    const result = spawnSync('promtool', ['check', 'rules', rulesFile], { encoding: 'utf8' });
    assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
  });

  it('fire, and stay quiet, as promtool test rules cases say', () => {
    const dir = mkdtempSync(join(tmpdir(), 'obs-rules-'));
    try {
      const file = join(dir, 'cases.json');
      // promtool reads YAML, of which JSON is a subset.
      writeFileSync(
        file,
        JSON.stringify({ rule_files: [rulesFile], evaluation_interval: '1m', tests }),
      );
      const result = spawnSync('promtool', ['test', 'rules', file], { encoding: 'utf8' });
      assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
      assert.match(result.stdout + result.stderr, /SUCCESS/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
