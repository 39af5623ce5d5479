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

  it('gives work without any caller signal one that never aborts', async () => {
    const signal = await retry().execute(({ signal }) => signal);
    assert.equal(signal.aborted, false);
  });
});
