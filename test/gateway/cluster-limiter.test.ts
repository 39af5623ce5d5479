// The cluster primary's side of the shared rate limits: what it answers a worker's take.
import assert from 'node:assert/strict';
import type { Worker } from 'node:cluster';
import { EventEmitter } from 'node:events';
import { after, it } from 'node:test';
import { clusterRateLimiter, serveClusterLimits } from '../../src/gateway/cluster-limiter.js';

/** Stands in for a forked worker: what the primary sends to it, it keeps. */
function worker(): { worker: Worker; answers: unknown[] } {
  const answers: unknown[] = [];
  const emitter = Object.assign(new EventEmitter(), {
    send: (message: unknown, callback?: () => void) => {
      answers.push(message);
      callback?.();
      return true;
    },
  });
  serveClusterLimits(emitter as unknown as Worker);
  return { worker: emitter as unknown as Worker, answers };
}

const take = { name: 'orders', limit: 2, periodMs: 1000, burst: 2, key: 'alice', cost: 1 };

it('answers takes from one limit shared by every worker', () => {
  const a = worker();
  const b = worker();
  a.worker.emit('message', { sluiceTake: 1, ...take });
  b.worker.emit('message', { sluiceTake: 1, ...take });
  b.worker.emit('message', { sluiceTake: 2, ...take });
  const allowed = [...a.answers, ...b.answers].map(
    (m) => (m as { decision: { allowed: boolean } }).decision.allowed,
  );
  assert.deepEqual(allowed, [true, true, false]);
});

it('answers a take it cannot make with an error instead of throwing in the primary', () => {
  const { worker: w, answers } = worker();
  w.emit('message', { sluiceTake: 7, ...take, name: 'bad', limit: -1 });
  w.emit('message', { sluiceTake: 8, ...take, name: 'no-key', key: undefined });
  assert.equal(answers.length, 2);
  assert.match(String((answers[0] as { error: string }).error), /limit/);
  assert.equal((answers[0] as { sluiceDecision: number }).sluiceDecision, 7);
  assert.match(String((answers[1] as { error: string }).error), /key/);
});

it('ignores messages that are not takes', () => {
  const { worker: w, answers } = worker();
  w.emit('message', { hello: 'world' });
  w.emit('message', null);
  assert.deepEqual(answers, []);
});

it('gives a worker the decision, or rejects its take with the reason the primary sent', async () => {
  // This process plays both sides: what the worker sends goes to a primary's handler, and
  // what that handler sends back arrives as the worker's 'message' event.
  const primary = Object.assign(new EventEmitter(), {
    send: (message: unknown, callback?: () => void) => {
      setImmediate(() => process.emit('message', message, undefined));
      callback?.();
      return true;
    },
  });
  serveClusterLimits(primary as unknown as Worker);
  const send = process.send;
  process.send = (message: unknown) => primary.emit('message', message);
  after(() => {
    if (send === undefined) delete process.send;
    else process.send = send;
  });
  const limiter = clusterRateLimiter({ name: 'worker-side', limit: 1, periodMs: 1000, burst: 1 });
  assert.equal((await limiter.take('bob')).allowed, true);
  assert.equal((await limiter.take('bob')).allowed, false);
  const broken = clusterRateLimiter({ name: 'worker-broken', limit: 0, periodMs: 1000, burst: 1 });
  await assert.rejects(
    Promise.resolve(broken.take('bob')),
    /cluster primary could not take: .*limit/,
  );
});
