import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import {
  JsonTraceSerializer,
  ProtobufLogsSerializer,
  ProtobufTraceSerializer,
} from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { Registry } from 'prom-client';
import { otlpHandler, TelemetryStore } from '../../../src/observe/store/index.js';
import { listen } from '../../../src/runtime/ports.js';

/** Real spans from the OpenTelemetry SDK: a producer in one trace, a linked consumer in another. */
function queueHopSpans(service: string): ReadableSpan[] {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'host.name': 'test' }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('test');
  const root = tracer.startSpan('POST /api/orders', {
    kind: SpanKind.SERVER,
    attributes: { 'http.route': '/api/orders', 'http.response.status_code': 201 },
  });
  const send = tracer.startSpan(
    'send orders',
    { kind: SpanKind.PRODUCER, attributes: { 'messaging.destination.name': 'orders' } },
    trace.setSpan(context.active(), root),
  );
  send.end();
  root.end();
  const process = tracer.startSpan('process orders', {
    kind: SpanKind.CONSUMER,
    links: [{ context: send.spanContext() }],
    attributes: { 'messaging.message.id': 'm-1' },
  });
  process.setStatus({ code: SpanStatusCode.ERROR, message: 'payment failed' });
  process.end();
  return exporter.getFinishedSpans();
}

describe('the OTLP receiver and the telemetry store', () => {
  let dir: string;
  let store: TelemetryStore;
  let server: Server;
  let url: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'obs-store-'));
    store = new TelemetryStore({ path: join(dir, 'telemetry.db'), registry: new Registry() });
    server = createServer(otlpHandler({ store, maxBodyBytes: 64 * 1024 }));
    url = `http://127.0.0.1:${await listen(server, 0, '127.0.0.1')}`;
  });

  after(() => {
    server.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (path: string, body: Uint8Array | string, type: string, headers = {}) =>
    fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': type, ...headers },
      body,
    });

  it('stores spans sent as protobuf, and joins the traces linked across a queue hop', async () => {
    const spans = queueHopSpans('orders');
    const response = await post(
      '/v1/traces',
      ProtobufTraceSerializer.serializeRequest(spans)!,
      'application/x-protobuf',
    );
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/x-protobuf');
    const named = (name: string) => spans.find((s) => s.name === name)!.spanContext();
    const producerTrace = named('send orders').traceId;
    const consumerTrace = named('process orders').traceId;
    assert.notEqual(producerTrace, consumerTrace);

    const detail = store.getTrace(producerTrace);
    assert.ok(detail);
    assert.deepEqual(
      detail.spans.map((s) => [s.name, s.kind]),
      [
        ['POST /api/orders', 'server'],
        ['send orders', 'producer'],
      ],
    );
    assert.equal(detail.spans[1]!.parentSpanId, detail.spans[0]!.spanId);
    assert.equal(detail.spans[0]!.resource['host.name'], 'test');
    assert.deepEqual(
      detail.linked.map((t) => t.traceId),
      [consumerTrace],
    );
    const consumer = store.getTrace(consumerTrace)!;
    assert.equal(consumer.spans[0]!.links[0]!.spanId, named('send orders').spanId);
    assert.equal(consumer.spans[0]!.status, 'error');
    assert.equal(consumer.spans[0]!.statusMessage, 'payment failed');
    assert.deepEqual(
      consumer.linked.map((t) => t.traceId),
      [producerTrace],
    );
  });

  it('stores spans sent as OTLP/JSON with hex ids, gzip or not', async () => {
    const spans = queueHopSpans('billing');
    const body = JsonTraceSerializer.serializeRequest(spans)!;
    const text = Buffer.from(body).toString('utf8');
    assert.match(text, new RegExp(`"traceId":"${spans[0]!.spanContext().traceId}"`));
    const response = await post('/v1/traces', gzipSync(body), 'application/json', {
      'content-encoding': 'gzip',
    });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), {});
    assert.equal(store.getTrace(spans[0]!.spanContext().traceId)?.spans[0]?.service, 'billing');
  });

  it('searches traces by service, route, status, duration and attribute', () => {
    assert.ok(store.searchTraces({ service: 'orders' }).length >= 2);
    const routed = store.searchTraces({ route: '/api/orders' });
    assert.ok(routed.every((t) => t.route === '/api/orders' && t.rootName === 'POST /api/orders'));
    assert.equal(routed.length, 2);
    const failed = store.searchTraces({ status: 'error' });
    assert.equal(failed.length, 2);
    assert.ok(failed.every((t) => t.errorCount === 1 && t.rootName === 'process orders'));
    assert.equal(
      store.searchTraces({ attribute: { key: 'messaging.message.id', value: 'm-1' } }).length,
      2,
    );
    assert.equal(
      store.searchTraces({ attribute: { key: 'messaging.message.id', value: 'm-2' } }).length,
      0,
    );
    assert.equal(store.searchTraces({ minDurationMs: 60_000 }).length, 0);
    assert.equal(store.searchTraces({ service: 'billing', status: 'ok' }).length, 1);
    assert.deepEqual(
      store.services().map((s) => [s.name, s.spans, s.errorSpans]),
      [
        ['billing', 3, 1],
        ['orders', 3, 1],
      ],
    );
  });

  it('stores logs with their trace ids and reads them by trace, level, text and tail cursor', async () => {
    const traceId = 'aa'.repeat(16);
    const request = {
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'payment' } }] },
          scopeLogs: [
            {
              logRecords: [
                {
                  timeUnixNano: '1700000000000000000',
                  severityNumber: 9,
                  body: { stringValue: 'charged' },
                  traceId,
                  spanId: 'bb'.repeat(8),
                },
                {
                  timeUnixNano: '1700000000001000000',
                  severityNumber: 13,
                  body: { stringValue: 'breaker open' },
                  attributes: [{ key: 'reason', value: { stringValue: 'failure rate 60%' } }],
                },
              ],
            },
          ],
        },
      ],
    };
    assert.equal((await post('/v1/logs', JSON.stringify(request), 'application/json')).status, 200);
    const byTrace = store.logs({ traceId });
    assert.deepEqual(
      byTrace.records.map((r) => [r.message, r.level, r.spanId]),
      [['charged', 'info', 'bb'.repeat(8)]],
    );
    assert.deepEqual(
      store.logs({ minLevel: 'warn' }).records.map((r) => r.message),
      ['breaker open'],
    );
    assert.deepEqual(
      store.logs({ text: '60%' }).records.map((r) => r.attributes.reason),
      ['failure rate 60%'],
    );
    const page = store.logs({ service: 'payment' });
    assert.equal(page.records.length, 2);
    assert.equal(store.logs({ after: page.tail }).records.length, 0);
    const protobufLogs = ProtobufLogsSerializer.serializeRequest([]);
    assert.equal((await post('/v1/logs', protobufLogs!, 'application/x-protobuf')).status, 200);
    store.addLogs([
      { timeMs: Date.now(), service: 'payment', level: 'error', message: 'later', attributes: {} },
    ]);
    assert.deepEqual(
      store.logs({ after: page.tail }).records.map((r) => r.message),
      ['later'],
    );
  });

  it('stores OTLP metrics as series over time', async () => {
    const point = (value: number, at: string) => ({
      timeUnixNano: at,
      asDouble: value,
      attributes: [{ key: 'queue', value: { stringValue: 'orders' } }],
    });
    const request = {
      resourceMetrics: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'orders' } }] },
          scopeMetrics: [
            {
              metrics: [
                {
                  name: 'queue_depth',
                  gauge: {
                    dataPoints: [point(3, '1700000000000000000'), point(5, '1700000001000000000')],
                  },
                },
                {
                  name: 'latency',
                  histogram: {
                    dataPoints: [{ timeUnixNano: '1700000000000000000', count: '4', sum: 1.5 }],
                  },
                },
              ],
            },
          ],
        },
      ],
    };
    assert.equal(
      (await post('/v1/metrics', JSON.stringify(request), 'application/json')).status,
      200,
    );
    assert.deepEqual(
      store.series({ name: 'queue_depth', labels: { queue: 'orders' }, from: 0, to: Date.now() }),
      [
        {
          name: 'queue_depth',
          labels: { queue: 'orders', service: 'orders' },
          points: [
            [1_700_000_000_000, 3],
            [1_700_000_001_000, 5],
          ],
        },
      ],
    );
    assert.ok(store.metricNames().includes('latency_count'));
    assert.equal(
      store.series({ name: 'queue_depth', labels: { queue: 'other' }, from: 0, to: Date.now() })
        .length,
      0,
    );
  });

  it('rejects what does not decode, and stores none of it', async () => {
    const before = store.stats().counts.spans;
    const garbage = await post(
      '/v1/traces',
      Buffer.from([0xff, 0xff, 0xff]),
      'application/x-protobuf',
    );
    assert.equal(garbage.status, 400);
    assert.equal(garbage.headers.get('content-type'), 'application/x-protobuf');
    const badId = await post(
      '/v1/traces',
      JSON.stringify({
        resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: 'zz', spanId: '01'.repeat(8) }] }] }],
      }),
      'application/json',
    );
    assert.equal(badId.status, 400);
    assert.match(((await badId.json()) as { message: string }).message, /traceId must be hex/);
    const half = {
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                { traceId: 'cc'.repeat(16), spanId: '01'.repeat(8), name: 'fine' },
                { traceId: 'cc'.repeat(16), spanId: '0102', name: 'short id' },
              ],
            },
          ],
        },
      ],
    };
    assert.equal((await post('/v1/traces', JSON.stringify(half), 'application/json')).status, 400);
    assert.equal(
      store.getTrace('cc'.repeat(16)),
      undefined,
      'a bad record rejects the whole request',
    );
    assert.equal((await post('/v1/traces', '{', 'application/json')).status, 400);
    assert.equal((await post('/v1/traces', 'x', 'text/plain')).status, 415);
    assert.equal((await post('/v1/nothing', '{}', 'application/json')).status, 404);
    assert.equal((await fetch(`${url}/v1/traces`)).status, 405);
    const huge = await post(
      '/v1/traces',
      JSON.stringify({ pad: 'x'.repeat(70 * 1024) }),
      'application/json',
    );
    assert.equal(huge.status, 413);
    const bomb = await post(
      '/v1/traces',
      gzipSync(Buffer.alloc(1024 * 1024, 32)),
      'application/json',
      { 'content-encoding': 'gzip' },
    );
    assert.equal(bomb.status, 413);
    const notGzip = await post('/v1/traces', '{}', 'application/json', {
      'content-encoding': 'gzip',
    });
    assert.equal(notGzip.status, 400);
    assert.equal(store.stats().counts.spans, before);
  });
});
