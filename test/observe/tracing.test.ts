import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-node';
import { isSluiceError } from '../../src/core/errors.js';
import {
  extractContext,
  getTracer,
  injectContext,
  setupTracing,
  type TracingOptions,
  withSpan,
} from '../../src/observe/index.js';
import { rootSampling } from '../../src/observe/root-sampling.js';

const SAMPLED_PARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const UNSAMPLED_PARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00';

/** Sets tracing up with an in-memory exporter, runs `body`, and always shuts down. */
async function traced(
  body: (finished: () => Promise<ReadableSpan[]>) => Promise<void>,
  options: Partial<TracingOptions> = {},
): Promise<void> {
  const exporter = new InMemorySpanExporter();
  const tracing = setupTracing({ serviceName: 'test-service', exporter, ...options });
  try {
    await body(async () => {
      await tracing.forceFlush();
      return exporter.getFinishedSpans();
    });
  } finally {
    await tracing.shutdown();
  }
}

function byName(spans: ReadableSpan[], name: string): ReadableSpan {
  const span = spans.find((s) => s.name === name);
  assert.ok(span, `span ${name} was exported`);
  return span;
}

describe('setupTracing', () => {
  it('without an active context: spans still export, and nothing becomes active', async () => {
    await traced(
      async (finished) => {
        const parent = extractContext({ traceparent: SAMPLED_PARENT });
        const span = getTracer().startSpan('explicit', { kind: SpanKind.SERVER }, parent);
        const inside = context.with(trace.setSpan(parent, span), () => trace.getActiveSpan());
        assert.equal(inside, undefined, 'no context manager, so no active span');
        const carrier: Record<string, string> = {};
        injectContext(carrier, trace.setSpan(parent, span));
        assert.match(carrier.traceparent ?? '', /^00-4bf92f3577b34da6a3ce929d0e0e4736-/);
        span.end();
        const exported = byName(await finished(), 'explicit');
        assert.equal(exported.parentSpanContext?.spanId, '00f067aa0ba902b7');
      },
      { activeContext: false },
    );
  });

  it('continues the sender trace from extracted HTTP headers', async () => {
    await traced(async (finished) => {
      const parent = extractContext({ traceparent: SAMPLED_PARENT, tracestate: 'v=1' });
      await withSpan('handle', () => undefined, { kind: SpanKind.SERVER, parent });
      const span = byName(await finished(), 'handle');
      assert.equal(span.spanContext().traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
      assert.equal(span.parentSpanContext?.spanId, '00f067aa0ba902b7');
      assert.equal(span.spanContext().traceState?.get('v'), '1');
      assert.equal(span.kind, SpanKind.SERVER);
      assert.equal(span.resource.attributes['service.name'], 'test-service');
    });
  });

  it('carries one trace across a queue hop through message headers', async () => {
    await traced(async (finished) => {
      const message: { headers: Record<string, string> } = { headers: {} };
      await withSpan('orders publish', () => injectContext(message.headers), {
        kind: SpanKind.PRODUCER,
      });
      const delivered = JSON.parse(JSON.stringify(message)) as typeof message;
      await withSpan('orders process', () => undefined, {
        kind: SpanKind.CONSUMER,
        parent: extractContext(delivered.headers),
      });
      const spans = await finished();
      const producer = byName(spans, 'orders publish');
      const consumer = byName(spans, 'orders process');
      assert.equal(consumer.spanContext().traceId, producer.spanContext().traceId);
      assert.equal(consumer.parentSpanContext?.spanId, producer.spanContext().spanId);
      assert.equal(producer.parentSpanContext, undefined);
    });
  });

  it('nests spans through the async context', async () => {
    await traced(async (finished) => {
      await withSpan('outer', async () => {
        await new Promise((resolve) => setImmediate(resolve));
        await withSpan('inner', () => undefined);
      });
      const spans = await finished();
      const outer = byName(spans, 'outer');
      const inner = byName(spans, 'inner');
      assert.equal(inner.parentSpanContext?.spanId, outer.spanContext().spanId);
    });
  });

  it('samples no new trace at ratio 0 but follows a sampled parent', async () => {
    await traced(
      async (finished) => {
        await withSpan('root', () => undefined);
        await withSpan('followed', () => undefined, {
          parent: extractContext({ traceparent: SAMPLED_PARENT }),
        });
        await withSpan('dropped', () => undefined, {
          parent: extractContext({ traceparent: UNSAMPLED_PARENT }),
        });
        assert.deepEqual(
          (await finished()).map((s) => s.name),
          ['followed'],
        );
      },
      { sampleRatio: 0 },
    );
  });

  it('refuses a second set-up while one is active, and allows one after shutdown', async () => {
    await traced(async () => {
      assert.throws(
        () => setupTracing({ serviceName: 'again', exporter: new InMemorySpanExporter() }),
        /already set up/,
      );
    });
    await traced(async (finished) => {
      await withSpan('after restart', () => undefined);
      assert.equal((await finished()).length, 1);
    });
  });

  it('shares its root sampling with hops only while its provider is the global one', async () => {
    assert.equal(rootSampling(), undefined, 'none before set-up');
    await traced(async () => {
      assert.ok(rootSampling(), 'set up');
    });
    assert.equal(rootSampling(), undefined, 'none after shutdown');
    const other = new BasicTracerProvider();
    trace.setGlobalTracerProvider(other);
    try {
      await traced(async () => {
        assert.equal(rootSampling(), undefined, 'another provider keeps every decision');
      });
    } finally {
      trace.disable();
    }
  });

  it('rejects invalid options', () => {
    for (const options of [
      { serviceName: 's', sampleRatio: 1.5 },
      { serviceName: 's', sampleRatio: Number.NaN },
      { serviceName: '' },
      { serviceName: 's', otlpUrl: 'not a url' },
    ]) {
      assert.throws(
        () => setupTracing(options),
        (e: unknown) => isSluiceError(e, 'SLUICE_INVALID_ARGUMENT'),
        JSON.stringify(options),
      );
    }
    assert.equal(trace.getActiveSpan(), undefined);
  });

  it('exports over OTLP/HTTP to <otlpUrl>/v1/traces', async () => {
    const requests: Array<{ url: string; type: string; body: string }> = [];
    const collector = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        requests.push({
          url: req.url ?? '',
          type: req.headers['content-type'] ?? '',
          body: Buffer.concat(chunks).toString('utf8'),
        });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = collector.address() as AddressInfo;
      const tracing = setupTracing({
        serviceName: 'otlp-test',
        otlpUrl: `http://127.0.0.1:${port}`,
      });
      await withSpan('exported', () => undefined, { tracer: tracing.tracer });
      await tracing.shutdown();
    } finally {
      collector.close();
    }
    assert.equal(requests.length, 1);
    assert.equal(requests[0]!.url, '/v1/traces');
    assert.match(requests[0]!.type, /application\/json/);
    assert.match(requests[0]!.body, /"exported"/);
    assert.match(requests[0]!.body, /otlp-test/);
  });
});

describe('withSpan', () => {
  it('returns the result, sets kind and attributes, and leaves the status unset', async () => {
    await traced(async (finished) => {
      const result = await withSpan(
        'work',
        async (span) => {
          span.setAttribute('extra', true);
          return 42;
        },
        { kind: SpanKind.CLIENT, attributes: { 'peer.service': 'payment' } },
      );
      assert.equal(result, 42);
      const span = byName(await finished(), 'work');
      assert.equal(span.kind, SpanKind.CLIENT);
      assert.deepEqual(span.attributes, { 'peer.service': 'payment', extra: true });
      assert.equal(span.status.code, SpanStatusCode.UNSET);
      assert.ok(span.ended);
    });
  });

  it('records a rejection as an exception event and ERROR status, then rethrows it', async () => {
    await traced(async (finished) => {
      const failure = new TypeError('card declined');
      await assert.rejects(
        withSpan('charge', async () => {
          throw failure;
        }),
        (e: unknown) => e === failure,
      );
      const span = byName(await finished(), 'charge');
      assert.equal(span.status.code, SpanStatusCode.ERROR);
      assert.equal(span.status.message, 'card declined');
      const event = span.events.find((e) => e.name === 'exception');
      assert.equal(event?.attributes?.['exception.type'], 'TypeError');
      assert.equal(event?.attributes?.['exception.message'], 'card declined');
      assert.ok(span.ended);
    });
  });

  it('records a synchronous throw of a non-Error value', async () => {
    await traced(async (finished) => {
      await assert.rejects(
        withSpan('sync', () => {
          throw 'plain string';
        }),
        (e: unknown) => e === 'plain string',
      );
      const span = byName(await finished(), 'sync');
      assert.equal(span.status.code, SpanStatusCode.ERROR);
      assert.equal(span.status.message, 'plain string');
    });
  });

  it('runs the work without tracing set up', async () => {
    assert.equal(await withSpan('untraced', (span) => span.isRecording()), false);
    assert.equal(getTracer().startSpan('noop').spanContext().traceFlags, 0);
  });
});
