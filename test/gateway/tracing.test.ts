import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { Gateway } from '../../src/gateway/gateway.js';
import { setupTracing, type Tracing } from '../../src/observe/index.js';
import { call, startUpstream, type TestUpstream } from './helpers.js';

describe('gateway tracing', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing;
  let upstream: TestUpstream;
  let gw: Gateway;

  before(async () => {
    tracing = setupTracing({ serviceName: 'gateway-test', exporter, sampleRatio: 1 });
    upstream = await startUpstream();
    gw = await Gateway.start({
      listen: 0,
      metrics: false,
      routes: [{ name: 'traced', path: '/*', upstream: upstream.url }],
    });
  });

  after(async () => {
    await gw.close();
    await upstream.close();
    await tracing.shutdown();
  });

  it('continues the caller trace and passes a child context upstream', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parent = `00-${traceId}-00f067aa0ba902b7-01`;
    const reply = await call(`${gw.url}/x`, { headers: { traceparent: parent } });
    const seen = reply.json() as { headers: Record<string, string> };
    const forwarded = seen.headers.traceparent!;
    assert.match(forwarded, new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    assert.notEqual(forwarded, parent, 'the upstream sees the gateway span as its parent');
    await tracing.forceFlush();
    const span = exporter.getFinishedSpans().find((s) => s.name === 'GET traced');
    assert.ok(span, 'a server span was exported');
    assert.equal(span.spanContext().traceId, traceId);
    assert.equal(forwarded.split('-')[2], span.spanContext().spanId);
    assert.equal(span.attributes['http.response.status_code'], 200);
  });

  it('passes an unsampled caller trace on unsampled, with its tracestate', async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const parent = `00-${traceId}-b7ad6b7169203331-00`;
    const reply = await call(`${gw.url}/quiet`, {
      headers: { traceparent: parent, tracestate: 'vendor=opaque,other=1' },
    });
    const seen = reply.json() as { headers: Record<string, string> };
    assert.match(seen.headers.traceparent!, new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`));
    assert.notEqual(seen.headers.traceparent, parent, 'a span of its own, though not recorded');
    assert.equal(seen.headers.tracestate, 'vendor=opaque,other=1');
    await tracing.forceFlush();
    const spanId = seen.headers.traceparent!.split('-')[2];
    assert.equal(
      exporter.getFinishedSpans().some((s) => s.spanContext().spanId === spanId),
      false,
      'nothing exported for an unsampled trace',
    );
  });

  it('starts a new trace for a caller that sent none, and passes it upstream', async () => {
    const reply = await call(`${gw.url}/fresh`);
    const seen = reply.json() as { headers: Record<string, string> };
    const forwarded = seen.headers.traceparent!;
    assert.match(forwarded, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    await tracing.forceFlush();
    const [, traceId, spanId] = forwarded.split('-');
    const span = exporter.getFinishedSpans().find((s) => s.spanContext().spanId === spanId);
    assert.ok(span, 'the span passed upstream was exported');
    assert.equal(span.spanContext().traceId, traceId);
    assert.equal(span.parentSpanContext, undefined, 'a root span');
  });
});

describe('gateway tracing, sampling new traces', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing;
  let upstream: TestUpstream;
  let gw: Gateway;

  before(async () => {
    tracing = setupTracing({ serviceName: 'gateway-test', exporter, sampleRatio: 0.5 });
    upstream = await startUpstream();
    gw = await Gateway.start({
      listen: 0,
      metrics: false,
      routes: [{ name: 'sampled', path: '/*', upstream: upstream.url }],
    });
  });

  after(async () => {
    await gw.close();
    await upstream.close();
    await tracing.shutdown();
  });

  it('passes on the trace of every request, and exports exactly the sampled ones', async () => {
    const forwarded: string[] = [];
    for (let i = 0; i < 60; i++) {
      const reply = await call(`${gw.url}/r${i}`);
      forwarded.push((reply.json() as { headers: Record<string, string> }).headers.traceparent!);
    }
    await tracing.forceFlush();
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
