import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type Component,
  isSluiceError,
  Lifecycle,
  type LifecycleEvent,
  type StopOptions,
} from '../../src/core/index.js';

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface Recorder {
  log: string[];
  component(name: string, behaviour?: Partial<Component>): Component;
}

function recorder(): Recorder {
  const log: string[] = [];
  return {
    log,
    component: (name, behaviour = {}) => ({
      name,
      async start(signal) {
        log.push(`start ${name}`);
        await behaviour.start?.(signal);
      },
      async stop(options: StopOptions) {
        log.push(`stop ${name}`);
        await behaviour.stop?.(options);
      },
    }),
  };
}

describe('Lifecycle', () => {
  test('starts in order and stops in reverse', async () => {
    const { log, component } = recorder();
    const events: LifecycleEvent[] = [];
    const lifecycle = new Lifecycle({ onEvent: (e) => events.push(e) });
    lifecycle.add(component('db'), component('queue'), component('http'));
    await lifecycle.start();
    assert.equal(lifecycle.state, 'running');
    const report = await lifecycle.stop({ drainTimeout: 1000 });
    assert.deepEqual(log, [
      'start db',
      'start queue',
      'start http',
      'stop http',
      'stop queue',
      'stop db',
    ]);
    assert.deepEqual(report, { stopped: ['http', 'queue', 'db'], overran: [], failed: [] });
    assert.equal(lifecycle.state, 'stopped');
    assert.deepEqual(
      events.filter((e) => e.name === 'db').map((e) => e.type),
      ['starting', 'started', 'stopping', 'stopped'],
    );
  });

  test('a failed start stops the started ones in reverse and rethrows', async () => {
    const { log, component } = recorder();
    const boom = new Error('port in use');
    const lifecycle = new Lifecycle().add(
      component('db'),
      component('queue'),
      component('http', {
        start: () => {
          throw boom;
        },
      }),
      component('never'),
    );
    await assert.rejects(lifecycle.start(), (e) => e === boom);
    assert.deepEqual(log, ['start db', 'start queue', 'start http', 'stop queue', 'stop db']);
    assert.equal(lifecycle.state, 'stopped');
  });

  test('one drain deadline: an overrunning component is reported and the rest still stop', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    const { log, component } = recorder();
    const budgets: Record<string, { drainTimeout: number; aborted: boolean }> = {};
    const seen = (name: string) => (options: StopOptions) => {
      budgets[name] = { drainTimeout: options.drainTimeout, aborted: options.signal.aborted };
    };
    const lifecycle = new Lifecycle().add(
      component('db', { stop: seen('db') }),
      component('stuck', {
        stop: (options) => {
          seen('stuck')(options);
          return new Promise<void>(() => {});
        },
      }),
      component('http', { stop: seen('http') }),
    );
    await lifecycle.start();
    const stopping = lifecycle.stop({ drainTimeout: 1000 });
    await flush();
    assert.deepEqual(log.slice(3), ['stop http', 'stop stuck']);
    t.mock.timers.tick(999);
    await flush();
    assert.equal(log.includes('stop db'), false, 'waits for the stuck one until the deadline');
    t.mock.timers.tick(1);
    const report = await stopping;
    assert.deepEqual(report, { stopped: ['http', 'db'], overran: ['stuck'], failed: [] });
    assert.deepEqual(budgets, {
      http: { drainTimeout: 1000, aborted: false },
      stuck: { drainTimeout: 1000, aborted: false },
      db: { drainTimeout: 0, aborted: true },
    });
  });

  test('a component whose stop throws is reported and the others still stop', async () => {
    const { log, component } = recorder();
    const failure = new Error('flush failed');
    const lifecycle = new Lifecycle().add(
      component('a'),
      component('b', {
        stop: () => {
          throw failure;
        },
      }),
    );
    await lifecycle.start();
    const report = await lifecycle.stop({ drainTimeout: 100 });
    assert.deepEqual(report, {
      stopped: ['a'],
      overran: [],
      failed: [{ name: 'b', error: failure }],
    });
    assert.deepEqual(log.slice(2), ['stop b', 'stop a']);
  });

  test('stop during start aborts the start and stops what had started', async () => {
    const { log, component } = recorder();
    const lifecycle = new Lifecycle().add(
      component('db'),
      component('slow', {
        start: (signal) =>
          new Promise<void>((_, reject) =>
            signal!.addEventListener('abort', () => reject(signal!.reason), { once: true }),
          ),
      }),
      component('never'),
    );
    const starting = lifecycle.start();
    await flush();
    const report = await lifecycle.stop({ drainTimeout: 1000 });
    await assert.rejects(starting, (e) => isSluiceError(e, 'SLUICE_CLOSED'));
    assert.deepEqual(report.stopped, ['db']);
    assert.deepEqual(log, ['start db', 'start slow', 'stop db']);
  });

  test('a component that finishes starting after the drain deadline is stopped at once', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    const { log, component } = recorder();
    let finishStart = (): void => {};
    const lifecycle = new Lifecycle().add(
      component('deaf', { start: () => new Promise<void>((resolve) => (finishStart = resolve)) }),
    );
    const starting = lifecycle.start();
    const stopping = lifecycle.stop({ drainTimeout: 100 });
    await flush();
    t.mock.timers.tick(100);
    assert.deepEqual(await stopping, { stopped: [], overran: [], failed: [] });
    finishStart();
    await assert.rejects(starting, (e) => isSluiceError(e, 'SLUICE_CLOSED'));
    assert.deepEqual(log, ['start deaf', 'stop deaf']);
  });

  test('stop is idempotent and start runs once', async () => {
    const { log, component } = recorder();
    const lifecycle = new Lifecycle().add(component('a'));
    await lifecycle.start();
    await assert.rejects(lifecycle.start(), (e) => isSluiceError(e, 'SLUICE_CLOSED'));
    assert.throws(
      () => lifecycle.add(component('late')),
      (e) => isSluiceError(e, 'SLUICE_CLOSED'),
    );
    const first = lifecycle.stop();
    assert.equal(lifecycle.stop(), first);
    await first;
    assert.deepEqual(log, ['start a', 'stop a']);
  });

  test('rejects a negative drain timeout and changes nothing', async () => {
    const { log, component } = recorder();
    const lifecycle = new Lifecycle().add(component('a'));
    await lifecycle.start();
    await assert.rejects(lifecycle.stop({ drainTimeout: -1 }), (e) =>
      isSluiceError(e, 'SLUICE_INVALID_ARGUMENT'),
    );
    assert.equal(lifecycle.state, 'running');
    assert.deepEqual(log, ['start a']);
  });
});
