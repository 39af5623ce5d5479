import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import type { BreakerCallEvent, BreakerStateEvent } from '../../src/core/diagnostics.js';
import { CircuitOpenError, isCircuitOpenError } from '../../src/core/errors.js';
import {
  type CircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitBreakerSnapshot,
  circuitBreaker,
} from '../../src/resilience/index.js';

function setup(options: CircuitBreakerOptions) {
  const clock = new ManualClock(1_000_000);
  const breaker = circuitBreaker({ clock, ...options });
  const transitions: string[] = [];
  breaker.onStateChange(({ from, to }) => transitions.push(`${from}->${to}`));
  return { clock, breaker, transitions };
}

const succeed = (breaker: CircuitBreaker) => breaker.execute(() => 'ok');
const failOnce = (breaker: CircuitBreaker) =>
  breaker
    .execute(() => Promise.reject(new Error('down')))
    .then(
      () => assert.fail('expected a failure'),
      (error: unknown) => error,
    );

async function outcomes(breaker: CircuitBreaker, pattern: string): Promise<void> {
  for (const c of pattern) {
    if (c === 'S') await succeed(breaker);
    else await failOnce(breaker);
  }
}

describe('circuit breaker: count window', () => {
  it('waits for minimumCalls, then opens at the failure-rate threshold', async () => {
    const { breaker, transitions } = setup({
      window: { type: 'count', size: 10 },
      failureRateThreshold: 50,
      minimumCalls: 4,
    });
    await outcomes(breaker, 'FFF');
    assert.equal(breaker.state, 'closed', 'three calls are below minimumCalls');
    await outcomes(breaker, 'S');
    assert.equal(breaker.state, 'open', '3 failures in 4 calls is 75%');
    assert.deepEqual(transitions, ['closed->open']);
  });

  it('stays closed below the threshold', async () => {
    const { breaker } = setup({
      window: { type: 'count', size: 10 },
      failureRateThreshold: 50,
      minimumCalls: 4,
    });
    await outcomes(breaker, 'SSFSSFSSSF');
    assert.equal(breaker.state, 'closed');
  });

  it('forgets calls that slid out of the window', async () => {
    const { breaker } = setup({
      window: { type: 'count', size: 4 },
      failureRateThreshold: 75,
      minimumCalls: 4,
    });
    await outcomes(breaker, 'FFSS');
    await outcomes(breaker, 'SS');
    await outcomes(breaker, 'FF');
    assert.equal(breaker.state, 'closed', 'window holds S S F F: 50%');
    await outcomes(breaker, 'F');
    assert.equal(breaker.state, 'open', 'window holds S F F F: 75%');
  });
});

describe('circuit breaker: time window', () => {
  it('counts only the calls of the last durationMs', async () => {
    const { breaker, clock } = setup({
      window: { type: 'time', durationMs: 10_000, buckets: 10 },
      failureRateThreshold: 50,
      minimumCalls: 4,
    });
    await outcomes(breaker, 'FFF');
    clock.advance(10_000);
    await outcomes(breaker, 'SSF');
    assert.equal(breaker.state, 'closed', 'the first three failures expired');
    clock.advance(5_000);
    await outcomes(breaker, 'F');
    assert.equal(breaker.state, 'open', 'S S F F within 10 s: 50%');
  });
});

describe('circuit breaker: consecutive failures', () => {
  it('opens after N failures in a row; a success resets the count', async () => {
    const { breaker } = setup({ consecutiveFailures: 3 });
    await outcomes(breaker, 'FFSFF');
    assert.equal(breaker.state, 'closed');
    await outcomes(breaker, 'F');
    assert.equal(breaker.state, 'open');
  });

  it('counts only errors isFailure accepts', async () => {
    const { breaker } = setup({
      consecutiveFailures: 2,
      isFailure: (e) => !(e instanceof TypeError),
    });
    for (let i = 0; i < 3; i++) {
      await breaker.execute(() => Promise.reject(new TypeError('client error'))).catch(() => {});
    }
    assert.equal(breaker.state, 'closed');
  });

  it('ignores failures of calls whose caller aborted', async () => {
    const { breaker } = setup({ consecutiveFailures: 1 });
    const controller = new AbortController();
    const result = breaker.execute(
      (context) =>
        new Promise((_, reject) =>
          context.signal.addEventListener('abort', () => reject(new Error('cancelled'))),
        ),
      { signal: controller.signal },
    );
    controller.abort();
    await assert.rejects(result, /cancelled/);
    assert.equal(breaker.state, 'closed');
  });
});

describe('circuit breaker: slow calls', () => {
  it('opens at the slow-call-rate threshold even when every call succeeds', async () => {
    const { breaker, clock } = setup({
      window: { type: 'count', size: 4 },
      minimumCalls: 4,
      slowCallDurationMs: 100,
      slowCallRateThreshold: 50,
    });
    const slow = () =>
      breaker.execute(async () => {
        clock.advance(100);
        return 'slow';
      });
    await slow();
    await outcomes(breaker, 'SS');
    assert.equal(breaker.state, 'closed');
    await slow();
    assert.equal(breaker.state, 'open');
  });
});

describe('circuit breaker: open and half-open', () => {
  const options: CircuitBreakerOptions = {
    consecutiveFailures: 1,
    openDurationMs: 1_000,
    halfOpenMaxProbes: 2,
  };

  it('rejects while open with CircuitOpenError carrying the time until half-open', async () => {
    const { breaker, clock } = setup(options);
    await failOnce(breaker);
    clock.advance(400);
    let ran = false;
    const error = await breaker.execute(() => (ran = true)).catch((e: unknown) => e);
    assert.ok(isCircuitOpenError(error) && error instanceof CircuitOpenError);
    assert.equal(error.retryAfter, 600);
    assert.equal(ran, false);
  });

  it('turns half-open after the open duration and closes when every probe succeeds', async () => {
    const { breaker, clock, transitions } = setup(options);
    await failOnce(breaker);
    clock.advance(1_000);
    assert.equal(breaker.state, 'half-open');
    await outcomes(breaker, 'S');
    assert.equal(breaker.state, 'half-open', 'one of two probes done');
    await outcomes(breaker, 'S');
    assert.equal(breaker.state, 'closed');
    assert.deepEqual(transitions, ['closed->open', 'open->half-open', 'half-open->closed']);
  });

  it('admits at most halfOpenMaxProbes probes at once', async () => {
    const { breaker, clock } = setup(options);
    await failOnce(breaker);
    clock.advance(1_000);
    const release: (() => void)[] = [];
    const probe = () =>
      breaker.execute(() => new Promise<void>((resolve) => release.push(resolve)));
    const probes = [probe(), probe()];
    await assert.rejects(probe(), isCircuitOpenError);
    for (const r of release) r();
    await Promise.all(probes);
    assert.equal(breaker.state, 'closed');
  });

  it('reopens as soon as failed probes make the threshold certain', async () => {
    const { breaker, clock } = setup({
      ...options,
      halfOpenMaxProbes: 4,
      failureRateThreshold: 50,
    });
    await failOnce(breaker);
    clock.advance(1_000);
    await outcomes(breaker, 'F');
    assert.equal(breaker.state, 'half-open', '1 failure of 4 probes decides nothing yet');
    await outcomes(breaker, 'F');
    assert.equal(breaker.state, 'open', '2 of 4 probes is already 50%');
  });

  it('reopens when the probes fail', async () => {
    const { breaker, clock, transitions } = setup(options);
    await failOnce(breaker);
    clock.advance(1_000);
    await outcomes(breaker, 'SF');
    assert.equal(breaker.state, 'open');
    assert.deepEqual(transitions.slice(-1), ['half-open->open']);
  });

  it('grows the open duration on each consecutive opening, up to max, and resets it on close', async () => {
    const { breaker, clock } = setup({
      consecutiveFailures: 1,
      openDurationMs: 1_000,
      halfOpenMaxProbes: 1,
      openDurationGrowth: { factor: 2, max: 3_000 },
    });
    const retryAfter = async () =>
      ((await breaker.execute(() => 0).catch((e: unknown) => e)) as CircuitOpenError).retryAfter;
    await failOnce(breaker);
    assert.equal(await retryAfter(), 1_000);
    clock.advance(1_000);
    await failOnce(breaker);
    assert.equal(await retryAfter(), 2_000);
    clock.advance(2_000);
    await failOnce(breaker);
    assert.equal(await retryAfter(), 3_000, 'capped at max');
    clock.advance(3_000);
    await succeed(breaker);
    assert.equal(breaker.state, 'closed');
    await failOnce(breaker);
    assert.equal(await retryAfter(), 1_000, 'growth starts over after closing');
  });

  it('drops outcomes of calls admitted before the last transition', async () => {
    const { breaker, clock } = setup(options);
    let finishOld: (() => void) | undefined;
    const old = breaker.execute(() => new Promise<void>((resolve) => (finishOld = resolve)));
    await failOnce(breaker);
    clock.advance(1_000);
    assert.equal(breaker.state, 'half-open');
    finishOld?.();
    await old;
    assert.equal(breaker.state, 'half-open', 'a call from the closed state is not a probe');
  });
});

describe('circuit breaker: manual control and persistence', () => {
  it('isolate holds the circuit open until reset', async () => {
    const { breaker, clock, transitions } = setup({ openDurationMs: 10 });
    breaker.isolate();
    clock.advance(1_000_000);
    assert.equal(breaker.state, 'isolated');
    const error = await breaker.execute(() => 1).catch((e: unknown) => e);
    assert.ok(isCircuitOpenError(error));
    assert.equal(error.retryAfter, undefined);
    breaker.reset();
    assert.equal(await breaker.execute(() => 1), 1);
    assert.deepEqual(transitions, ['closed->isolated', 'isolated->closed']);
  });

  it('reset closes an open circuit and clears its window', async () => {
    const { breaker } = setup({
      window: { type: 'count', size: 4 },
      minimumCalls: 4,
      failureRateThreshold: 50,
    });
    await outcomes(breaker, 'FFFF');
    assert.equal(breaker.state, 'open');
    breaker.reset();
    await outcomes(breaker, 'FSS');
    assert.equal(breaker.state, 'closed', 'old failures do not count after reset');
  });

  it('serialises to JSON and resumes from it', async () => {
    const { breaker, clock } = setup({
      consecutiveFailures: 1,
      openDurationMs: 5_000,
      halfOpenMaxProbes: 1,
      openDurationGrowth: { factor: 2, max: 60_000 },
    });
    await failOnce(breaker);
    clock.advance(1_000);
    const snapshot = JSON.parse(JSON.stringify(breaker)) as CircuitBreakerSnapshot;
    assert.deepEqual(snapshot, { state: 'open', openUntil: 1_005_000, opens: 1 });

    const restored = circuitBreaker({
      consecutiveFailures: 1,
      openDurationMs: 5_000,
      halfOpenMaxProbes: 1,
      openDurationGrowth: { factor: 2, max: 60_000 },
      clock,
      initialState: snapshot,
    });
    const error = await restored.execute(() => 1).catch((e: unknown) => e);
    assert.ok(isCircuitOpenError(error));
    assert.equal(error.retryAfter, 4_000);
    clock.advance(4_000);
    await failOnce(restored);
    assert.equal(
      restored.toJSON().openUntil,
      clock.now() + 10_000,
      'growth resumed from the snapshot',
    );
  });

  it('publishes state changes on the diagnostics channel', async () => {
    const events: BreakerStateEvent[] = [];
    const onEvent = (m: unknown) => events.push(m as BreakerStateEvent);
    subscribe('sluice:breaker:state', onEvent);
    try {
      const { breaker } = setup({ name: 'payment', consecutiveFailures: 1 });
      await failOnce(breaker);
    } finally {
      unsubscribe('sluice:breaker:state', onEvent);
    }
    assert.equal(events.length, 1);
    assert.deepEqual(
      { ...events[0], reason: undefined },
      { name: 'payment', from: 'closed', to: 'open', reason: undefined },
    );
  });

  it('publishes every call with its outcome and duration', async () => {
    const events: BreakerCallEvent[] = [];
    const onEvent = (m: unknown) => events.push(m as BreakerCallEvent);
    subscribe('sluice:breaker:call', onEvent);
    try {
      const { breaker, clock } = setup({
        name: 'db',
        consecutiveFailures: 1,
        slowCallDurationMs: 50,
      });
      await breaker.execute(async () => clock.advance(70));
      await failOnce(breaker);
      await breaker.execute(() => 1).catch(() => {});
    } finally {
      unsubscribe('sluice:breaker:call', onEvent);
    }
    assert.deepEqual(events, [
      { name: 'db', outcome: 'success', slow: true, durationMs: 70 },
      { name: 'db', outcome: 'failure', slow: false, durationMs: 0 },
      { name: 'db', outcome: 'rejected', slow: false, durationMs: 0 },
    ]);
  });
});
