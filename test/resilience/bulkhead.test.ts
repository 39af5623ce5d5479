import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { BulkheadFullError, isAbortedError, isBulkheadFullError } from '../../src/core/errors.js';
import { bulkhead } from '../../src/resilience/index.js';
import { flush, state } from './support.js';

/** Work that finishes when the test says so. */
function gate() {
  const started: string[] = [];
  const release = new Map<string, () => void>();
  const task = (label: string) => () =>
    new Promise<string>((resolve) => {
      started.push(label);
      release.set(label, () => resolve(label));
    });
  return { started, release: (label: string) => release.get(label)?.(), task };
}

describe('bulkhead', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'] }));
  afterEach(() => mock.timers.reset());

  it('runs up to maxConcurrent at once and rejects the next when there is no queue', async () => {
    const policy = bulkhead({ maxConcurrent: 2 });
    const { started, release, task } = gate();
    const a = policy.execute(task('a'));
    const b = policy.execute(task('b'));
    await assert.rejects(
      policy.execute(task('c')),
      (e) => isBulkheadFullError(e) && e instanceof BulkheadFullError,
    );
    assert.deepEqual(started, ['a', 'b']);
    assert.deepEqual(policy.stats(), { active: 2, queued: 0 });
    release('a');
    assert.equal(await a, 'a');
    assert.deepEqual(policy.stats(), { active: 1, queued: 0 });
    release('b');
    await b;
    assert.deepEqual(policy.stats(), { active: 0, queued: 0 });
  });

  it('queues callers up to maxQueue and releases them in FIFO order', async () => {
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 2 });
    const { started, release, task } = gate();
    const results = [
      policy.execute(task('a')),
      policy.execute(task('b')),
      policy.execute(task('c')),
    ];
    await assert.rejects(policy.execute(task('d')), isBulkheadFullError);
    assert.deepEqual(policy.stats(), { active: 1, queued: 2 });
    release('a');
    await flush();
    assert.deepEqual(started, ['a', 'b']);
    release('b');
    await flush();
    assert.deepEqual(started, ['a', 'b', 'c']);
    release('c');
    assert.deepEqual(await Promise.all(results), ['a', 'b', 'c']);
    assert.deepEqual(policy.stats(), { active: 0, queued: 0 });
  });

  it('frees the slot when the work fails', async () => {
    const policy = bulkhead({ maxConcurrent: 1 });
    await assert.rejects(
      policy.execute(() => Promise.reject(new Error('x'))),
      /x/,
    );
    assert.equal(await policy.execute(() => 'next'), 'next');
  });

  it('rejects a queued caller after queueTimeoutMs', async () => {
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 1, queueTimeoutMs: 50 });
    const { started, release, task } = gate();
    const a = policy.execute(task('a'));
    const b = policy.execute(task('b'));
    mock.timers.tick(49);
    assert.equal(await state(b), 'pending');
    mock.timers.tick(1);
    await assert.rejects(b, isBulkheadFullError);
    assert.deepEqual(policy.stats(), { active: 1, queued: 0 });
    release('a');
    await a;
    assert.deepEqual(started, ['a']);
  });

  it('lets a queued caller whose signal aborts leave the queue', async () => {
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 2 });
    const { started, release, task } = gate();
    const controller = new AbortController();
    const a = policy.execute(task('a'));
    const b = policy.execute(task('b'), { signal: controller.signal });
    const c = policy.execute(task('c'));
    controller.abort();
    await assert.rejects(b, isAbortedError);
    assert.deepEqual(policy.stats(), { active: 1, queued: 1 });
    release('a');
    await a;
    await flush();
    assert.deepEqual(started, ['a', 'c']);
    release('c');
    await c;
  });

  it('publishes rejections and queue timeouts', async () => {
    const events: unknown[] = [];
    const onEvent = (m: unknown) => events.push(m);
    subscribe('sluice:bulkhead:rejected', onEvent);
    const policy = bulkhead({
      name: 'payments',
      maxConcurrent: 1,
      maxQueue: 1,
      queueTimeoutMs: 10,
    });
    const { release, task } = gate();
    try {
      const a = policy.execute(task('a'));
      const b = policy.execute(task('b'));
      await assert.rejects(policy.execute(task('c')), isBulkheadFullError);
      mock.timers.tick(10);
      await assert.rejects(b, isBulkheadFullError);
      release('a');
      await a;
    } finally {
      unsubscribe('sluice:bulkhead:rejected', onEvent);
    }
    assert.deepEqual(events, [
      { name: 'payments', active: 1, queued: 1, outcome: 'rejected' },
      { name: 'payments', active: 1, queued: 0, outcome: 'queue-timeout' },
    ]);
  });
});
