import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Registry } from 'prom-client';
import { type SpanRecord, TelemetryStore } from '../../../src/observe/store/index.js';
import { span as fixtureSpan } from '../../dashboard/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'obs-queries-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const NOW = 1_800_000_000_000;

function span(
  trace: string,
  id: string,
  startMs: number,
  more: Partial<SpanRecord> = {},
): SpanRecord {
  return fixtureSpan({
    traceId: trace.repeat(32).slice(0, 32),
    spanId: id.repeat(16).slice(0, 16),
    startMs,
    ...more,
  });
}

function memoryStore(): TelemetryStore {
  return new TelemetryStore({ path: ':memory:', registry: new Registry() });
}

const ids = (traces: Array<{ traceId: string }>) => traces.map((t) => t.traceId[0]);

describe('the trace search', () => {
  it('finds nothing in an empty store', () => {
    const store = memoryStore();
    assert.deepEqual(store.searchTraces(), []);
    assert.deepEqual(store.searchTraces({ service: 'orders', since: 0, until: NOW }), []);
    store.close();
  });

  it('orders by the start of each trace, however long ago a trace began', () => {
    const store = memoryStore();
    store.addSpans([
      // a: began 2 minutes before the newest span, and still has a span in the last second
      span('a', '1', NOW - 120_000),
      span('a', '2', NOW - 1000, { parentSpanId: '1'.repeat(16), service: 'payment' }),
      span('b', '3', NOW - 30_000),
      span('c', '4', NOW - 3_600_000, { status: 'error' }),
      span('d', '5', NOW - 5 * 3_600_000, { service: 'billing' }),
      span('e', '6', NOW),
    ]);
    assert.deepEqual(ids(store.searchTraces({ limit: 2 })), ['e', 'b']);
    assert.deepEqual(ids(store.searchTraces({ limit: 3 })), ['e', 'b', 'a']);
    assert.deepEqual(ids(store.searchTraces()), ['e', 'b', 'a', 'c', 'd']);
    assert.deepEqual(ids(store.searchTraces({ service: 'payment' })), ['a']);
    assert.deepEqual(ids(store.searchTraces({ service: 'billing' })), ['d']);
    assert.deepEqual(ids(store.searchTraces({ status: 'error' })), ['c']);
    assert.deepEqual(ids(store.searchTraces({ since: NOW - 120_000 })), ['e', 'b', 'a']);
    assert.deepEqual(ids(store.searchTraces({ until: NOW - 30_000, limit: 1 })), ['a']);
    assert.deepEqual(ids(store.searchTraces({ since: NOW + 1 })), []);
    const [a] = store.searchTraces({ service: 'payment' });
    assert.equal(a?.rootService, 'orders', 'the root is the span without a parent');
    assert.equal(a?.durationMs, 119_020);
    assert.deepEqual(a?.services, ['orders', 'payment']);
    store.close();
  });
});

describe('the traffic of the last minutes', () => {
  const calls = (): SpanRecord[] => [
    span('f', '1', NOW - 5000, { service: 'fulfillment', kind: 'client', name: 'POST' }),
    span('f', '2', NOW - 4990, {
      service: 'payment',
      parentSpanId: '1'.repeat(16),
      attributes: { 'http.route': '/charge' },
      status: 'error',
    }),
    span('f', '3', NOW - 4000, {
      service: 'fulfillment',
      kind: 'producer',
      attributes: { 'messaging.destination.name': 'events' },
    }),
  ];

  it('sees an edge between services whichever span of the two came in first', () => {
    const inOrder = memoryStore();
    inOrder.addSpans(calls());
    const childFirst = memoryStore();
    const [parent, child, producer] = calls();
    childFirst.addSpans([child!]);
    childFirst.addSpans([parent!, producer!]);
    for (const store of [inOrder, childFirst]) {
      const traffic = store.traffic(NOW - 60_000);
      assert.deepEqual(
        traffic.edges.map((e) => [e.from, e.to, e.via, e.count, e.errors]),
        [
          ['fulfillment', 'events', 'queue', 1, 0],
          ['fulfillment', 'payment', undefined, 1, 1],
        ],
      );
      assert.deepEqual(
        traffic.routes.map((r) => [r.service, r.route, r.count, r.p99Ms]),
        [['payment', '/charge', 1, 20]],
      );
      store.close();
    }
  });

  it('reads spans written before their kind and parent had columns as it reads the others', () => {
    const path = join(dir, 'older.db');
    const store = new TelemetryStore({ path, registry: new Registry() });
    store.addSpans(calls());
    const fresh = store.traffic(NOW - 60_000);
    const db = new Database(path);
    db.exec('UPDATE spans SET kind = NULL, destination = NULL, parent_service = NULL');
    db.close();
    assert.deepEqual(store.traffic(NOW - 60_000), fresh);
    assert.equal(store.traffic(NOW).routes.length, 0, 'nothing before the window');
    store.close();
  });

  it('counts the newest 50,000 spans of the window at most, alike spans grouped', () => {
    const store = memoryStore();
    const older = (i: number): SpanRecord =>
      span('a', String(i), NOW - 50_000 + i, { attributes: { 'http.route': '/older' } });
    const newer = (i: number): SpanRecord =>
      span(`b${i}`, '1', NOW - 40_000, {
        attributes: { 'http.route': i % 2 === 0 ? '/even' : '/odd' },
        durationMs: i,
      });
    store.addSpans([1, 2, 3].map(older));
    store.addSpans(Array.from({ length: 50_000 }, (_, i) => newer(i)));
    const traffic = store.traffic(NOW - 60_000);
    assert.deepEqual(
      traffic.routes.map((r) => [r.route, r.count, r.p50Ms, r.p99Ms]),
      [
        ['/odd', 25_000, 24_999, 49_499],
        ['/even', 25_000, 24_998, 49_498],
      ],
    );
    store.close();
  });

  it('is empty for an empty store', () => {
    const store = memoryStore();
    assert.deepEqual(store.traffic(0), { since: 0, routes: [], edges: [] });
    assert.deepEqual(store.services(), []);
    store.close();
  });
});
