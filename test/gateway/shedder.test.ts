// The gateway's shedder refuses requests while the process's event loop lags, judged by the
// one event-loop monitor the process keeps (flow/event-loop-delay.ts).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Shedder } from '../../src/gateway/shedder.js';
import { waitFor } from '../support/wait-for.js';

/** Keeps the event loop busy in slices of `ms`, as a stream of slow handlers would; returns stop. */
function lag(ms: number): () => void {
  let running = true;
  const slice = (): void => {
    if (!running) return;
    const until = Date.now() + ms;
    while (Date.now() < until) {
      // busy
    }
    setTimeout(slice, 1);
  };
  setTimeout(slice, 1);
  return () => {
    running = false;
  };
}

it('sheds while the event loop lags, counts what it shed, and admits again once it recovers', async () => {
  const shedder = new Shedder({ maxInflight: 10, maxEventLoopDelayMs: 60, retryAfterMs: 1000 });
  const admitted = (): boolean => {
    const token = shedder.admit();
    token?.ignore();
    return token !== undefined;
  };
  await waitFor('a request admitted on a calm loop', admitted);
  const stop = lag(150);
  try {
    await waitFor('the lag seen and a request shed', () => !admitted(), { intervalMs: 1 });
  } finally {
    stop();
  }
  assert.ok(shedder.shed >= 1);
  await waitFor('requests admitted again after the lag', admitted);
  assert.equal(shedder.toJSON().lagging, false);
});

it('sheds the request over maxInflight, whatever the loop does', () => {
  const shedder = new Shedder({ maxInflight: 1, maxEventLoopDelayMs: 60_000, retryAfterMs: 1000 });
  const first = shedder.admit();
  assert.ok(first);
  assert.equal(shedder.admit(), undefined);
  first.success();
  assert.ok(shedder.admit());
});
