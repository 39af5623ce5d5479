import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSluiceError } from '../../src/core/errors.js';
import { within, withTimeout } from '../../src/core/time-limit.js';

const never = new Promise<never>(() => {});

describe('within', () => {
  it("settles with the work's value when it finishes in time", async () => {
    assert.equal(await within(Promise.resolve('done'), 1_000), 'done');
  });

  it('settles with undefined once the time has passed', async () => {
    assert.equal(await within(never, 1), undefined);
  });

  it('counts work done within the current turn when no time is left', async () => {
    assert.equal(await within(Promise.resolve('sync'), 0), 'sync');
  });

  it("passes the work's failure on", async () => {
    await assert.rejects(within(Promise.reject(new Error('broke')), 1_000), /broke/);
  });
});

describe('withTimeout', () => {
  it("settles with the work's value when it finishes in time", async () => {
    assert.equal(await withTimeout(Promise.resolve(7), 1_000), 7);
  });

  it('rejects with SLUICE_TIMEOUT once the time has passed', async () => {
    // Its timer is unref'd: something else must hold the process open meanwhile.
    const alive = setTimeout(() => {}, 1_000);
    try {
      await assert.rejects(withTimeout(never, 1), (e: unknown) =>
        isSluiceError(e, 'SLUICE_TIMEOUT'),
      );
    } finally {
      clearTimeout(alive);
    }
  });
});
