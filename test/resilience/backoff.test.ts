import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSluiceError } from '../../src/core/errors.js';
import {
  constantBackoff,
  decorrelatedJitterBackoff,
  exponentialBackoff,
} from '../../src/resilience/index.js';

describe('backoff', () => {
  it('constant returns the same delay every time', () => {
    const backoff = constantBackoff(250);
    assert.deepEqual(
      [1, 2, 5].map((n) => backoff(n, 0)),
      [250, 250, 250],
    );
  });

  it('exponential without jitter grows by the factor and stops at maxDelay', () => {
    const backoff = exponentialBackoff({
      initialDelay: 100,
      factor: 3,
      maxDelay: 2_000,
      jitter: 'none',
    });
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((n) => backoff(n, 0)),
      [100, 300, 900, 2_000, 2_000],
    );
  });

  it('exponential with full jitter scales the capped delay by the random draw', () => {
    let draw = 0.5;
    const backoff = exponentialBackoff({ initialDelay: 100, maxDelay: 1_000, random: () => draw });
    assert.equal(backoff(1, 0), 50);
    assert.equal(backoff(3, 0), 200);
    draw = 0.9999;
    assert.equal(backoff(10, 0), 1_000);
    draw = 0;
    assert.equal(backoff(10, 0), 0);
  });

  it('decorrelated jitter draws between initialDelay and 3x the previous delay, capped', () => {
    let draw = 1;
    const backoff = decorrelatedJitterBackoff({
      initialDelay: 100,
      maxDelay: 1_000,
      random: () => draw,
    });
    assert.equal(backoff(1, 0), 100);
    assert.equal(backoff(2, 200), 600);
    assert.equal(backoff(3, 600), 1_000);
    draw = 0;
    assert.equal(backoff(4, 600), 100);
  });

  it('rejects negative delays', () => {
    assert.throws(
      () => constantBackoff(-1),
      (e) => isSluiceError(e, 'SLUICE_INVALID_ARGUMENT'),
    );
  });
});
