import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fallback } from '../../src/resilience/index.js';

describe('fallback', () => {
  it('passes a success through untouched', async () => {
    assert.equal(await fallback('cached').execute(() => 'fresh'), 'fresh');
  });

  it('answers a failure with the value', async () => {
    assert.equal(
      await fallback('cached').execute(() => Promise.reject(new Error('down'))),
      'cached',
    );
  });

  it('answers a failure with what the function makes of the error', async () => {
    const policy = fallback(async (error) => `fallback for ${(error as Error).message}`);
    assert.equal(
      await policy.execute(() => Promise.reject(new Error('down'))),
      'fallback for down',
    );
  });

  it('lets errors that `when` refuses through', async () => {
    const policy = fallback(0, { when: (e) => !(e instanceof TypeError) });
    await assert.rejects(
      policy.execute(() => Promise.reject(new TypeError('bug'))),
      TypeError,
    );
    assert.equal(await policy.execute(() => Promise.reject(new Error('down'))), 0);
  });

  it('does not answer for a caller that aborted', async () => {
    const controller = new AbortController();
    const result = fallback('cached').execute(
      (context) =>
        new Promise((_, reject) =>
          context.signal.addEventListener('abort', () => reject(new Error('cancelled'))),
        ),
      { signal: controller.signal },
    );
    controller.abort();
    await assert.rejects(result, /cancelled/);
  });
});
