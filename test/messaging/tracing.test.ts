import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { type Broker, connect } from '../../src/messaging/index.js';
import { waitFor } from '../conformance/helpers.js';

describe('trace context across the queue hop', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  let broker: Broker;
  before(async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(provider);
    broker = await connect({ driver: 'memory' });
  });
  after(async () => {
    await broker.close();
    trace.disable();
    context.disable();
  });

  it('runs the handler in a consumer span whose parent is the publishing span', async () => {
    const queue = broker.queue<string>('traced');
    const tracer = trace.getTracer('test');
    let producerTrace = '';
    let producerSpan = '';
    await tracer.startActiveSpan('POST /api/orders', async (span) => {
      producerTrace = span.spanContext().traceId;
      producerSpan = span.spanContext().spanId;
      await queue.publish('order-1');
      span.end();
    });
    let inHandler: { traceId: string; traceparent: string | undefined } | undefined;
    queue.consume((m) => {
      inHandler = {
        traceId: trace.getActiveSpan()?.spanContext().traceId ?? '',
        traceparent: m.headers.traceparent,
      };
    });
    await waitFor(() => inHandler !== undefined, 'the handler');
    assert.equal(inHandler!.traceId, producerTrace);
    assert.match(inHandler!.traceparent!, new RegExp(`^00-${producerTrace}-${producerSpan}-`));
    await waitFor(
      () => exporter.getFinishedSpans().some((s) => s.name === 'traced process'),
      'the span',
    );
    const consumerSpan = exporter.getFinishedSpans().find((s) => s.name === 'traced process')!;
    assert.equal(consumerSpan.parentSpanContext?.spanId, producerSpan);
    assert.equal(consumerSpan.attributes['messaging.destination.name'], 'traced');
  });

  it('marks the consumer span as failed when the handler throws', async () => {
    const queue = broker.queue<string>('traced-fail');
    await queue.publish('x');
    queue.consume(
      () => {
        throw new Error('boom');
      },
      { maxAttempts: 1 },
    );
    await waitFor(
      () => exporter.getFinishedSpans().some((s) => s.name === 'traced-fail process'),
      'the failed span',
    );
    const span = exporter.getFinishedSpans().find((s) => s.name === 'traced-fail process')!;
    assert.equal(span.status.code, 2);
  });
});
