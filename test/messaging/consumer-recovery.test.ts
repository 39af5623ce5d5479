import assert from 'node:assert/strict';
import { it } from 'node:test';
import { EngineUnavailableError } from '../../src/core/errors.js';
import type { MessagingDriver } from '../../src/messaging/driver.js';
import { MemoryDriver } from '../../src/messaging/drivers/memory/driver.js';
import { connect } from '../../src/messaging/index.js';
import { waitFor } from '../conformance/helpers.js';

/** A memory driver whose first claims fail, as while an engine restarts. */
class OutageDriver extends MemoryDriver {
  failuresLeft = 3;

  override claim(...args: Parameters<MessagingDriver['claim']>) {
    if (this.failuresLeft > 0) {
      this.failuresLeft--;
      return Promise.reject(new EngineUnavailableError('the engine is restarting'));
    }
    return super.claim(...args);
  }
}

it('after failed claims a consumer tries again on its own, long before its poll interval', async () => {
  const driver = new OutageDriver();
  const broker = await connect({ driver });
  const queue = broker.queue<string>('orders');
  // Published before the outage: no wake-up will come to end a one-hour poll.
  await queue.publish('a');
  const handled: string[] = [];
  const consumer = queue.consume((m) => void handled.push(m.payload), {
    pollInterval: 3_600_000,
  });
  try {
    await waitFor('the message handled after the outage', () => handled.length === 1);
    assert.deepEqual(handled, ['a']);
    assert.equal(driver.failuresLeft, 0);
  } finally {
    await consumer.stop();
    await broker.close();
  }
});
