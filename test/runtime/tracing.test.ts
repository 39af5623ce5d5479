// telemetry.traces: the supervisor's process (and the gateway in it) exports spans to the
// collector, and every instance is handed the standard OTEL_* variables for its own SDK.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { GatewayComponent, parseSluiceConfig, startSystem } from '../../src/runtime/index.js';
import { freePort } from '../../src/runtime/ports.js';
import { startOtlpCollector } from '../support/otlp-collector.js';
import { capture, getJson, newRegistry, service } from './helpers.js';

const collector = await startOtlpCollector();
const collectorUrl = collector.url;
after(() => collector.close());

test('telemetry.traces exports the gateway spans and hands instances the OTEL variables', async () => {
  const port = await freePort('127.0.0.1');
  const config = parseSluiceConfig(
    [
      'version: 1',
      `telemetry: { traces: { otlp: ${collectorUrl}, sample: 25%, serviceName: edge } }`,
      'gateway:',
      '  listen: 127.0.0.1:0',
      `  routes: [{ name: api, path: /*, upstream: http://127.0.0.1:${port} }]`,
      'services:',
      `  api: { command: ${service}, port: ${port}, health: /healthz }`,
    ].join('\n'),
    { env: {} },
  );
  const gateway = new GatewayComponent(config.gateway!);
  const system = startSystem(config, {
    logs: capture().sink,
    registry: newRegistry(),
    components: () => [gateway],
  });
  try {
    await system.ready;
    const env = await getJson(`http://127.0.0.1:${port}/env`);
    assert.equal(env.OTEL_EXPORTER_OTLP_ENDPOINT, collectorUrl);
    assert.equal(env.OTEL_SERVICE_NAME, 'api');
    assert.equal(env.OTEL_TRACES_SAMPLER, 'parentbased_traceidratio');
    assert.equal(env.OTEL_TRACES_SAMPLER_ARG, '0.25');

    // A sampled caller: the gateway follows its decision whatever the ratio.
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await fetch(`${gateway.url}/whoami`, {
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
  } finally {
    await system.stop({ drainTimeout: 5_000 });
  }
  // Stopping flushed the batch: the gateway's span, under the configured service name.
  const traces = collector.received.filter((r) => r.path === '/v1/traces');
  assert.ok(traces.length > 0, 'nothing reached the collector');
  const sent = Buffer.concat(traces.map((t) => t.body));
  assert.ok(sent.includes('edge'), 'the service name is missing');
  assert.ok(sent.includes('GET api'), 'the route span is missing');
});
