import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, test } from 'node:test';
import {
  AbortedError,
  abortError,
  anySignal,
  isAbortedError,
  isSluiceError,
  isTimeoutError,
  sleep,
  throwIfAborted,
} from '../../src/core/index.js';

const listeners = (signal: AbortSignal): number => getEventListeners(signal, 'abort').length;

describe('anySignal', () => {
  test('aborts with the reason of whichever parent aborts first', () => {
    const a = new AbortController();
    const b = new AbortController();
    const combined = anySignal(a.signal, undefined, b.signal);
    assert.equal(combined.signal.aborted, false);
    b.abort('second');
    a.abort('first');
    assert.equal(combined.signal.aborted, true);
    assert.equal(combined.signal.reason, 'second');
  });

  test('is aborted at once when a parent already is', () => {
    const a = new AbortController();
    a.abort('early');
    const combined = anySignal(new AbortController().signal, a.signal);
    assert.equal(combined.signal.aborted, true);
    assert.equal(combined.signal.reason, 'early');
  });

  test('passes a single signal through and never aborts with none', () => {
    const a = new AbortController();
    assert.equal(anySignal(undefined, a.signal).signal, a.signal);
    assert.equal(anySignal().signal.aborted, false);
  });

  test('dispose removes its listeners from every parent', () => {
    const a = new AbortController();
    const b = new AbortController();
    const combined = anySignal(a.signal, b.signal);
    assert.equal(listeners(a.signal), 1);
    combined.dispose();
    combined.dispose();
    assert.equal(listeners(a.signal), 0);
    assert.equal(listeners(b.signal), 0);
    a.abort();
    assert.equal(combined.signal.aborted, false, 'a disposed combination no longer follows');
  });

  test('combining a long-lived signal once per call retains nothing', () => {
    const process = new AbortController();
    for (let i = 0; i < 10_000; i++) {
      const perCall = new AbortController();
      const combined = anySignal(process.signal, perCall.signal);
      if (i % 2 === 0) perCall.abort();
      else combined.dispose();
    }
    assert.equal(listeners(process.signal), 0);
  });

  test('an abort from one parent releases the others', () => {
    const longLived = new AbortController();
    const perCall = new AbortController();
    const combined = anySignal(longLived.signal, perCall.signal);
    perCall.abort();
    assert.equal(combined.signal.aborted, true);
    assert.equal(listeners(longLived.signal), 0);
  });
});

describe('abortError and throwIfAborted', () => {
  test('map reasons to Sluice errors', () => {
    const plain = new AbortController();
    plain.abort();
    const error = abortError(plain.signal);
    assert.ok(isAbortedError(error));

    const custom = new AbortController();
    const reason = new Error('shutting down');
    custom.abort(reason);
    assert.equal(abortError(custom.signal).cause, reason);

    const ours = new AbortController();
    const closed = new AbortedError('closed');
    ours.abort(closed);
    assert.equal(abortError(ours.signal), closed);

    const timed = AbortSignal.abort(new DOMException('late', 'TimeoutError'));
    const timeout = abortError(timed);
    assert.ok(isTimeoutError(timeout));
    assert.equal(timeout.message, 'Operation timed out');
    assert.equal(timeout.cause, timed.reason);
  });

  test('throwIfAborted does nothing for a live or missing signal', () => {
    throwIfAborted(undefined);
    throwIfAborted(new AbortController().signal);
    assert.throws(
      () => throwIfAborted(AbortSignal.abort()),
      (e) => isAbortedError(e),
    );
  });
});

describe('sleep', () => {
  test('resolves after the delay', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    let done = false;
    const sleeping = sleep(1000).then(() => {
      done = true;
    });
    t.mock.timers.tick(999);
    await Promise.resolve();
    assert.equal(done, false);
    t.mock.timers.tick(1);
    await sleeping;
    assert.equal(done, true);
  });

  test('rejects with AbortedError when aborted, and leaves no listener', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const controller = new AbortController();
    const sleeping = sleep(1000, { signal: controller.signal });
    controller.abort();
    await assert.rejects(sleeping, (e) => isAbortedError(e));
    assert.equal(listeners(controller.signal), 0);
  });

  test('rejects at once on an aborted signal, with the signal’s own error', async () => {
    await assert.rejects(sleep(10, { signal: AbortSignal.abort() }), (e) => isAbortedError(e));
    const timedOut = AbortSignal.abort(new DOMException('late', 'TimeoutError'));
    await assert.rejects(sleep(10, { signal: timedOut }), (e) =>
      isSluiceError(e, 'SLUICE_TIMEOUT'),
    );
  });

  test('removes its listener once it resolves', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const controller = new AbortController();
    const sleeping = sleep(5, { signal: controller.signal });
    assert.equal(listeners(controller.signal), 1);
    t.mock.timers.tick(5);
    await sleeping;
    assert.equal(listeners(controller.signal), 0);
  });
});
