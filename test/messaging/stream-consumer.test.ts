// A stream group's consumer on the memory driver: what stop() does to a handler that runs
// past the drain timeout, and that broker.close() stops it.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { connect } from '../../src/messaging/index.js';
import { waitFor } from '../conformance/helpers.js';

it('stops past the drain timeout without waiting for a stuck handler, leaving its entry uncommitted', async () => {
  const broker = await connect({ driver: 'memory' });
  const stream = broker.stream<string>('feed');
  const [, stuckAt] = await stream.appendBatch([{ payload: 'a' }, { payload: 'stuck' }]);
  let aborted = false;
  const consumer = stream.group('g').consume(async (entry, { signal }) => {
    if (entry.payload !== 'stuck') return;
    signal.addEventListener('abort', () => {
      aborted = true;
    });
    await new Promise(() => {}); // never settles
  });
  await waitFor('the stuck handler to run', () => consumer.active === 1);
  await consumer.stop({ drainTimeout: 20 });
  assert.equal(aborted, true, "the handler's signal was aborted");
  assert.equal(await stream.group('g').committed(), stuckAt, 'the stuck entry comes again');
  assert.equal(consumer.failure, undefined);
  await broker.close();
});

it('is stopped by broker.close()', async () => {
  const broker = await connect({ driver: 'memory' });
  const stream = broker.stream<number>('feed');
  await stream.appendBatch([1, 2, 3].map((payload) => ({ payload })));
  const seen: number[] = [];
  const consumer = stream.group('g').consume((entry) => {
    seen.push(entry.payload);
  });
  await waitFor('the entries', () => seen.length === 3);
  await broker.close();
  await consumer.closed;
  assert.deepEqual(seen, [1, 2, 3]);
});
