import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { systemClock } from '../../src/core/clock.js';
import { DeadlineScheduler } from '../../src/core/timers.js';
import { circuitBreaker, retry, timeout, wrap } from '../../src/resilience/index.js';

describe('execution context', () => {
  let scheduler: DeadlineScheduler;
  beforeEach(() => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    scheduler = new DeadlineScheduler({ clock: systemClock, resolutionMs: 1 });
  });
  afterEach(() => mock.timers.reset());

  it('hands work that never asks for a signal no AbortController', async () => {
    const original = globalThis.AbortController;
    let created = 0;
    globalThis.AbortController = class extends original {
      constructor() {
        super();
        created++;
      }
    };
    try {
      const policy = wrap(retry(), circuitBreaker(), timeout(1_000, { scheduler }));
      for (let i = 0; i < 10; i++) await policy.execute(async () => i);
      await policy.execute(async () => 1, { signal: new original().signal });
    } finally {
      globalThis.AbortController = original;
    }
    assert.equal(created, 0);
  });

  it('leaves no listener on a long-lived caller signal after calls that read theirs', async () => {
    const controller = new AbortController();
    const policy = wrap(retry(), timeout(1_000, { scheduler }));
    for (let i = 0; i < 20; i++) {
      await policy.execute(async ({ signal }) => signal.aborted, { signal: controller.signal });
    }
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  });

  it('gives each call without a caller signal a signal of its own that never aborts', async () => {
    const policy = wrap(retry(), circuitBreaker());
    const first = await policy.execute(({ signal }) => signal);
    const second = await policy.execute(({ signal }) => signal);
    assert.equal(first.aborted, false);
    assert.notEqual(first, second, 'a shared signal would collect the listeners of every call');
  });
});
