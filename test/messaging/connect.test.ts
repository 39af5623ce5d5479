import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSluiceError } from '../../src/core/errors.js';
import { connect } from '../../src/messaging/index.js';

const invalid = (pattern: RegExp) => (e: unknown) =>
  isSluiceError(e, 'SLUICE_INVALID_ARGUMENT') && pattern.test((e as Error).message);

describe('connect()', () => {
  it('names the drivers it knows when given another', async () => {
    await assert.rejects(
      connect({ driver: 'kafka' } as never),
      invalid(
        /unknown driver "kafka"; expected one of memory, sqlite, nats, redis, rabbitmq, postgres, or a driver object/,
      ),
    );
    await assert.rejects(connect(undefined as never), invalid(/options object/));
  });

  it('asks for the url of a networked engine before loading its client', async () => {
    for (const driver of ['nats', 'redis', 'rabbitmq', 'postgres']) {
      await assert.rejects(
        connect({ driver } as never),
        invalid(new RegExp(`the ${driver} driver needs url`)),
      );
    }
  });

  it('checks the sqlite options before opening anything', async () => {
    await assert.rejects(connect({ driver: 'sqlite' } as never), invalid(/needs url/));
    await assert.rejects(
      connect({ driver: 'sqlite', url: ':memory:', synchronous: 'sometimes' as 'full' }),
      invalid(/sqlite driver options: synchronous: expected one of full, normal/),
    );
    await assert.rejects(
      connect({ driver: 'sqlite', url: ':memory:', busyTimout: 5 } as never),
      invalid(/sqlite driver options: busyTimout: unknown key "busyTimout"/),
    );
  });

  it('opens an in-memory sqlite broker that says it is not durable', async () => {
    const broker = await connect({ driver: 'sqlite', url: ':memory:' });
    assert.equal(broker.driver, 'sqlite');
    assert.equal(broker.capabilities.durable, false);
    await broker.queue('q').publish(1);
    assert.equal((await broker.queue('q').stats()).depth, 1);
    await broker.stop({ drainTimeout: 100, signal: new AbortController().signal });
    assert.equal(broker.closed, true);
  });

  it('never starts a consumer whose signal is already aborted', async () => {
    const broker = await connect({ driver: 'memory' });
    const queue = broker.queue<number>('q');
    await queue.publish(1);
    let calls = 0;
    const consumer = queue.consume(
      () => {
        calls++;
      },
      { signal: AbortSignal.abort() },
    );
    await consumer.closed;
    assert.equal(calls, 0);
    assert.equal((await queue.stats()).depth, 1);
    await broker.close();
  });
});
