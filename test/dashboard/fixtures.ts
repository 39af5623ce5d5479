import { Registry } from 'prom-client';
import type { DashboardSources } from '../../src/dashboard/index.js';
import type { SpanRecord } from '../../src/observe/store/index.js';
import { TelemetryStore } from '../../src/observe/store/index.js';
import type { SluiceConfig } from '../../src/runtime/index.js';

export const HOSTILE = '<script>alert("pwned")</script><img src=x onerror=alert(1)>';

export function span(
  overrides: Partial<SpanRecord> & Pick<SpanRecord, 'traceId' | 'spanId'>,
): SpanRecord {
  return {
    service: 'orders',
    name: 'POST /api/orders',
    kind: 'server',
    startMs: Date.now() - 1000,
    durationMs: 20,
    status: 'unset',
    attributes: {},
    resource: {},
    scope: 'test',
    events: [],
    links: [],
    ...overrides,
  };
}

export const PRODUCER_TRACE = 'a'.repeat(32);
export const CONSUMER_TRACE = 'b'.repeat(32);

/** An in-memory store with a producer trace, the consumer trace linked to it, and logs. */
export function storeWithTraffic(): TelemetryStore {
  const store = new TelemetryStore({ path: ':memory:', registry: new Registry() });
  const now = Date.now() - 2000;
  store.addSpans([
    span({
      traceId: PRODUCER_TRACE,
      spanId: '1'.repeat(16),
      startMs: now,
      durationMs: 30,
      attributes: { 'http.route': '/api/orders', hostile: HOSTILE },
    }),
    span({
      traceId: PRODUCER_TRACE,
      spanId: '2'.repeat(16),
      parentSpanId: '1'.repeat(16),
      name: 'send orders',
      kind: 'producer',
      startMs: now + 5,
      durationMs: 2,
      attributes: { 'messaging.destination.name': 'orders' },
    }),
    span({
      traceId: CONSUMER_TRACE,
      spanId: '3'.repeat(16),
      service: 'fulfillment',
      name: 'process orders',
      kind: 'consumer',
      startMs: now + 50,
      durationMs: 40,
      status: 'error',
      attributes: { 'messaging.destination.name': 'orders' },
      links: [{ traceId: PRODUCER_TRACE, spanId: '2'.repeat(16), attributes: {} }],
    }),
  ]);
  store.addLogs([
    {
      timeMs: now,
      service: 'orders',
      level: 'info',
      message: `order placed ${HOSTILE}`,
      traceId: PRODUCER_TRACE,
      attributes: { [HOSTILE]: HOSTILE },
    },
    {
      timeMs: now + 60,
      service: 'fulfillment',
      level: 'error',
      message: 'payment failed',
      traceId: CONSUMER_TRACE,
      attributes: {},
    },
  ]);
  return store;
}

export interface FakeSources extends DashboardSources {
  kills: Array<[string, number]>;
}

export function fakeSources(store: TelemetryStore | undefined): FakeSources {
  const kills: Array<[string, number]> = [];
  const config: SluiceConfig = {
    version: 1,
    services: {
      orders: { command: 'node orders.js', port: 3003 },
      fulfillment: { command: 'node f.js', upstreams: ['orders'] },
    },
  } as SluiceConfig;
  return {
    config,
    kills,
    telemetry: () => store,
    status: async () => ({
      services: {
        orders: {
          url: 'http://127.0.0.1:3003',
          restart: 'always',
          instances: [
            {
              service: 'orders',
              index: 0,
              port: 3003,
              url: 'http://127.0.0.1:3003',
              pid: 4242,
              state: 'ready',
              restarts: 1,
            },
          ],
        },
      },
    }),
    kill: async (service, index) => {
      kills.push([service, index]);
      return { service, index, pid: 4242, restart: 'always' };
    },
    broker: async () => undefined,
  };
}
