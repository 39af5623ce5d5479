import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { Gateway } from '../../src/gateway/gateway.js';
import { setupTracing, type Tracing } from '../../src/observe/index.js';
import { call, startUpstream, type TestUpstream } from './helpers.js';

/** Tracing set up at `sampleRatio` and a gateway with one route `name`, for one suite. */
function tracedGateway(sampleRatio: number, name: string) {
  const exporter = new InMemorySpanExporter();
  const running = {} as { tracing: Tracing; upstream: TestUpstream; gw: Gateway };
  before(async () => {
    running.tracing = setupTracing({ serviceName: 'gateway-test', exporter, sampleRatio });
    running.upstream = await startUpstream();
    running.gw = await Gateway.start({
      listen: 0,
      metrics: false,
      routes: [{ name, path: '/*', upstream: running.upstream.url }],
    });
  });
  after(async () => {
    await running.gw.close();
    await running.upstream.close();
    await running.tracing.shutdown();
  });
  return { exporter, running };
}

describe('gateway tracing', () => {
  const { exporter, running } = tracedGateway(1, 'traced');

  it('continues the caller trace and passes a child context upstream', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parent = `00-${traceId}-00f067aa0ba902b7-01`;
    const reply = await call(`${running.gw.url}/x`, { headers: { traceparent: parent } });
    const seen = reply.json() as { headers: Record<string, string> };
    const forwarded = seen.headers.traceparent!;
    assert.match(forwarded, new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    assert.notEqual(forwarded, parent, 'the upstream sees the gateway span as its parent');
    await running.tracing.forceFlush();
    const span = exporter.getFinishedSpans().find((s) => s.name === 'GET traced');
    assert.ok(span, 'a server span was exported');
    assert.equal(span.spanContext().traceId, traceId);
    assert.equal(forwarded.split('-')[2], span.spanContext().spanId);
    assert.equal(span.attributes['http.response.status_code'], 200);
  });

  it('passes an unsampled caller trace on unsampled, with its tracestate', async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const parent = `00-${traceId}-b7ad6b7169203331-00`;
    const reply = await call(`${running.gw.url}/quiet`, {
      headers: { traceparent: parent, tracestate: 'vendor=opaque,other=1' },
    });
    const seen = reply.json() as { headers: Record<string, string> };
    assert.match(seen.headers.traceparent!, new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`));
    assert.notEqual(seen.headers.traceparent, parent, 'a span of its own, though not recorded');
    assert.equal(seen.headers.tracestate, 'vendor=opaque,other=1');
    await running.tracing.forceFlush();
    const spanId = seen.headers.traceparent!.split('-')[2];
    assert.equal(
      exporter.getFinishedSpans().some((s) => s.spanContext().spanId === spanId),
      false,
      'nothing exported for an unsampled trace',
    );
  });

  it('starts a new trace for a caller that sent none, and passes it upstream', async () => {
    const reply = await call(`${running.gw.url}/fresh`);
    const seen = reply.json() as { headers: Record<string, string> };
    const forwarded = seen.headers.traceparent!;
    assert.match(forwarded, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    await running.tracing.forceFlush();
    const [, traceId, spanId] = forwarded.split('-');
    const span = exporter.getFinishedSpans().find((s) => s.spanContext().spanId === spanId);
    assert.ok(span, 'the span passed upstream was exported');
    assert.equal(span.spanContext().traceId, traceId);
    assert.equal(span.parentSpanContext, undefined, 'a root span');
  });
});

describe('gateway tracing, sampling new traces', () => {
  const { exporter, running } = tracedGateway(0.5, 'sampled');

  it('passes on the trace of every request, and exports exactly the sampled ones', async () => {
    const forwarded: string[] = [];
    for (let i = 0; i < 60; i++) {
      const reply = await call(`${running.gw.url}/r${i}`);
      forwarded.push((reply.json() as { headers: Record<string, string> }).headers.traceparent!);
    }
    await running.tracing.forceFlush();
    const exported = new Map(
      exporter.getFinishedSpans().map((s) => [s.spanContext().spanId, s.spanContext()]),
    );
    const traces = new Set<string>();
    let sampled = 0;
    for (const traceparent of forwarded) {
      const [version, traceId, spanId, flags] = traceparent.split('-');
      assert.equal(version, '00');
      assert.match(`${traceId}-${spanId}`, /^[0-9a-f]{32}-[0-9a-f]{16}$/);
      traces.add(traceId!);
      const span = exported.get(spanId!);
      if (flags === '01') {
        sampled++;
        assert.equal(
          span?.traceId,
          traceId,
          'a sampled request is exported in the trace it passed on',
        );
      } else {
        assert.equal(flags, '00');
        assert.equal(span, undefined, 'an unsampled request exports nothing');
      }
    }
    assert.equal(traces.size, forwarded.length, 'each request starts a trace of its own');
    assert.equal(exported.size, sampled);
    assert.ok(sampled > 0 && sampled < forwarded.length, `${sampled} of 60 sampled at 50 %`);
  });
});
