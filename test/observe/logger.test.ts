import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-node';
import { createLogger, setupTracing, type Tracing, withSpan } from '../../src/observe/index.js';

function bufferStream(): { stream: Writable; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString('utf8'));
      callback();
    },
  });
  const lines = () =>
    chunks
      .join('')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { stream, lines };
}

describe('createLogger', () => {
  let tracing: Tracing;
  before(() => {
    tracing = setupTracing({ serviceName: 'logger-test', exporter: new InMemorySpanExporter() });
  });
  after(() => tracing.shutdown());

  it('adds trace_id and span_id to lines logged inside a span, and only there', async () => {
    const { stream, lines } = bufferStream();
    const log = createLogger({ name: 'orders', destination: stream });
    log.info('before');
    const ids = await withSpan('handle', async (span) => {
      log.info({ orderId: 7 }, 'inside');
      await new Promise((resolve) => setImmediate(resolve));
      log.child({ component: 'db' }).warn('after an await, from a child');
      return span.spanContext();
    });
    log.info('outside');

    const [first, inside, child, last] = lines();
    assert.equal(first?.msg, 'before');
    assert.equal(first?.trace_id, undefined);
    assert.equal(first?.span_id, undefined);
    for (const line of [inside, child]) {
      assert.equal(line?.trace_id, ids.traceId);
      assert.equal(line?.span_id, ids.spanId);
      assert.equal(line?.trace_flags, '01');
      assert.equal(line?.name, 'orders');
    }
    assert.equal(inside?.orderId, 7);
    assert.equal(child?.component, 'db');
    assert.equal(last?.msg, 'outside');
    assert.equal(last?.trace_id, undefined);
  });

  it('respects the level', () => {
    const { stream, lines } = bufferStream();
    const log = createLogger({ name: 'quiet', level: 'warn', destination: stream });
    log.info('dropped');
    log.error('kept');
    assert.deepEqual(
      lines().map((l) => l.msg),
      ['kept'],
    );
  });
});
