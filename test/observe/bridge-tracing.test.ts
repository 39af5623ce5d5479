import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-node';
import { channels } from '../../src/core/diagnostics.js';
import { TimeoutError } from '../../src/core/errors.js';
import { bridgeTracing, setupTracing, type Tracing, withSpan } from '../../src/observe/index.js';
import { publishEveryEvent } from './publish-all.js';

describe('bridgeTracing', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing;
  before(() => {
    tracing = setupTracing({ serviceName: 'bridge-test', exporter });
  });
  after(() => tracing.shutdown());
  beforeEach(() => exporter.reset());

  async function eventsOf(name: string) {
    await tracing.forceFlush();
    const span = exporter.getFinishedSpans().find((s) => s.name === name);
    assert.ok(span, `span ${name} was exported`);
    return span.events;
  }

  it('adds resilience decisions as events on the active span', async () => {
    const stop = bridgeTracing();
    try {
      await withSpan('call payment', () => publishEveryEvent('payment'));
    } finally {
      stop();
    }
    const events = await eventsOf('call payment');
    assert.deepEqual(
      events.map((e) => e.name),
      [
        'sluice.breaker.state',
        'sluice.breaker.rejected',
        'sluice.retry',
        'sluice.timeout',
        'sluice.bulkhead.rejected',
        'sluice.hedge',
        'sluice.ratelimit.rejected',
        'sluice.shed',
      ],
    );
    const retry = events.find((e) => e.name === 'sluice.retry');
    assert.deepEqual(retry?.attributes, {
      'sluice.policy': 'payment',
      'sluice.retry.attempt': 1,
      'sluice.retry.delay_ms': 100,
      'exception.type': 'Error',
      'exception.message': 'boom',
    });
    const shed = events.find((e) => e.name === 'sluice.shed');
    assert.equal(shed?.attributes?.['sluice.shed.retry_after_ms'], 500);
  });

  it('names a Sluice error by its code', async () => {
    const stop = bridgeTracing();
    await withSpan('timed', () =>
      channels.retry.publish({ name: 'p', attempt: 2, delayMs: 0, error: new TimeoutError(50) }),
    );
    stop();
    const [event] = await eventsOf('timed');
    assert.equal(event?.attributes?.['exception.type'], 'SLUICE_TIMEOUT');
  });

  it('does nothing outside a span and after unsubscribing', async () => {
    const stop = bridgeTracing();
    assert.doesNotThrow(() => publishEveryEvent('nobody'));
    stop();
    assert.equal(channels.retry.hasSubscribers, false);
    await withSpan('unbridged', () => publishEveryEvent('payment'));
    assert.deepEqual(await eventsOf('unbridged'), []);
  });

  it('adds each event once when installed twice', async () => {
    const first = bridgeTracing();
    const second = bridgeTracing();
    await withSpan('twice', () => channels.timeout.publish({ name: 't', timeoutMs: 5 }));
    first();
    assert.equal(channels.timeout.hasSubscribers, true);
    second();
    assert.equal(channels.timeout.hasSubscribers, false);
    assert.deepEqual(
      (await eventsOf('twice')).map((e) => e.name),
      ['sluice.timeout'],
    );
  });
});
