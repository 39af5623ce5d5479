import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { type Broker, connect } from '../../src/messaging/index.js';
import { waitFor } from '../conformance/helpers.js';

describe('trace context across the queue hop (OpenTelemetry messaging conventions)', () => {
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

  const span = async (name: string): Promise<ReadableSpan> => {
    await waitFor(name, () => exporter.getFinishedSpans().some((s) => s.name === name));
    return exporter.getFinishedSpans().find((s) => s.name === name)!;
  };

  it('sends in a PRODUCER span whose context travels in the message; processes in a linked CONSUMER span', async () => {
    const queue = broker.queue<string>('traced');
    const tracer = trace.getTracer('test');
    let request = { traceId: '', spanId: '' };
    await tracer.startActiveSpan('POST /api/orders', async (root) => {
      request = root.spanContext();
      await queue.publish('order-1', { id: 'm-1' });
      root.end();
    });
    let inHandler: { traceId: string; traceparent: string | undefined } | undefined;
    queue.consume((m) => {
      inHandler = {
        traceId: trace.getActiveSpan()?.spanContext().traceId ?? '',
        traceparent: m.headers.traceparent,
      };
    });
    const send = await span('send traced');
    const process = await span('process traced');
    assert.equal(send.kind, SpanKind.PRODUCER);
    assert.equal(send.parentSpanContext?.spanId, request.spanId);
    assert.deepEqual(
      [send.attributes['messaging.system'], send.attributes['messaging.operation.name']],
      ['memory', 'send'],
    );
    assert.equal(send.attributes['messaging.message.id'], 'm-1');
    const creation = send.spanContext();
    assert.match(
      inHandler!.traceparent!,
      new RegExp(`^00-${creation.traceId}-${creation.spanId}-`),
    );
    assert.equal(inHandler!.traceId, request.traceId, 'one trace from the request to the handler');
    assert.equal(process.kind, SpanKind.CONSUMER);
    assert.deepEqual(
      process.links.map((l) => l.context.spanId),
      [creation.spanId],
      'the process span links to the creation context',
    );
    assert.equal(process.parentSpanContext?.spanId, creation.spanId);
    assert.equal(process.attributes['messaging.operation.type'], 'process');
    assert.equal(process.attributes['messaging.destination.name'], 'traced');
  });

  it('names the consumer group of a topic subscription', async () => {
    const topic = broker.topic<string>('traced-events');
    let seen = false;
    topic.subscribe('billing', () => {
      seen = true;
    });
    await topic.publish('e');
    await waitFor('the event', () => seen);
    const process = await span('process traced-events');
    assert.equal(process.attributes['messaging.consumer.group.name'], 'billing');
    assert.equal((await span('send traced-events')).kind, SpanKind.PRODUCER);
  });

  it('keeps a context the message already carries (an outbox row) as the send span parent', async () => {
    const queue = broker.queue<string>('traced-outbox');
    const carried = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await queue.publish('x', { headers: { traceparent: carried } });
    const send = await span('send traced-outbox');
    assert.equal(send.spanContext().traceId, '0af7651916cd43dd8448eb211c80319c');
    assert.equal(send.parentSpanContext?.spanId, 'b7ad6b7169203331');
  });

  it('marks the consumer span as failed with error.type when the handler throws', async () => {
    const queue = broker.queue<string>('traced-fail');
    await queue.publish('x');
    queue.consume(
      () => {
        throw new TypeError('boom');
      },
      { maxAttempts: 1 },
    );
    const failed = await span('process traced-fail');
    assert.equal(failed.status.code, 2);
    assert.equal(failed.attributes['error.type'], 'TypeError');
  });
});
