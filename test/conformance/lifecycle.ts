import assert from 'node:assert/strict';
import { it } from 'node:test';
import { isSluiceError } from '../../src/core/errors.js';
import { gate, unique, waitFor } from './helpers.js';
import type { SuiteContext } from './suite.js';

const code = (c: string) => (e: unknown) => isSluiceError(e, c);

export function lifecycle(ctx: SuiteContext): void {
  it('on stop, finishes running handlers and releases buffered messages uncounted', async () => {
    const name = unique('drain');
    const queue = ctx.broker().queue<number>(name);
    await queue.publishBatch(Array.from({ length: 5 }, (_, i) => ({ payload: i })));
    const hold = gate();
    const finished: number[] = [];
    const consumer = queue.consume(
      async (m) => {
        await hold.promise;
        finished.push(m.payload);
      },
      { prefetch: 5, concurrency: 1 },
    );
    await waitFor('the prefetch', () => consumer.active === 1 && consumer.buffered === 4);
    const stopping = consumer.stop({ drainTimeout: 10_000 });
    hold.open();
    await stopping;
    assert.deepEqual(finished, [0]);
    const stats = await queue.stats();
    assert.equal(stats.depth, 4);
    assert.equal(stats.inFlight, 0);
    const attempts: number[] = [];
    queue.consume((m) => {
      attempts.push(m.attempt);
    });
    await waitFor('the released messages', () => attempts.length === 4);
    assert.deepEqual(attempts, [1, 1, 1, 1]);
  });

  it('past the drain timeout, aborts the handler and releases its message', async () => {
    const queue = ctx.broker().queue<string>(unique('abandon'));
    await queue.publish('stuck');
    let aborted = false;
    let started = false;
    const consumer = queue.consume(async (_m, { signal }) => {
      started = true;
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
      aborted = true;
    });
    await waitFor('the handler', () => started);
    await consumer.stop({ drainTimeout: 20 });
    assert.equal(aborted, true);
    assert.equal((await queue.stats()).depth, 1);
    const attempts: number[] = [];
    queue.consume((m) => {
      attempts.push(m.attempt);
    });
    await waitFor('the redelivery', () => attempts.length === 1);
    assert.deepEqual(attempts, [2]);
  });

  it('stops a consumer when its signal aborts', async () => {
    const queue = ctx.broker().queue<string>(unique('signal'));
    const controller = new AbortController();
    const consumer = queue.consume(() => {}, { signal: controller.signal });
    controller.abort();
    await consumer.closed;
    await queue.publish('after');
    assert.equal((await queue.stats()).depth, 1);
  });

  it('rejects every call on a closed broker with SLUICE_CLOSED', async () => {
    const broker = await ctx.open();
    const queue = broker.queue<string>(unique('closed'));
    const consumer = queue.consume(() => {});
    await broker.close();
    await consumer.closed;
    await assert.rejects(queue.publish('x'), code('SLUICE_CLOSED'));
    await assert.rejects(queue.stats(), code('SLUICE_CLOSED'));
    assert.throws(() => queue.consume(() => {}), code('SLUICE_CLOSED'));
    assert.throws(() => broker.queue('other'), code('SLUICE_CLOSED'));
    assert.throws(() => broker.topic('other'), code('SLUICE_CLOSED'));
    await broker.close();
  });

  it('rejects invalid names, options and payloads with clear errors, storing nothing', async () => {
    const broker = ctx.broker();
    for (const bad of ['', 'has space', '-lead', 'a/b', 'x'.repeat(201), 7]) {
      assert.throws(() => broker.queue(bad as string), /queue name must be/);
    }
    assert.throws(() => broker.topic('a b'), /topic name must be/);
    assert.throws(() => broker.queue('q', { maxLength: 0 }), /maxLength must be an integer >= 1/);
    assert.throws(
      () => broker.queue('q', { overflow: 'explode' as 'block' }),
      /overflow must be one of/,
    );
    assert.throws(
      () => broker.queue('q', { maxLenght: 3 } as unknown as object),
      /unknown queue option "maxLenght"/,
    );
    const queue = broker.queue<unknown>(unique('invalid'), { maxPayloadBytes: 64 });
    assert.throws(
      () => queue.consume(() => {}, { prefetch: 0 }),
      /prefetch must be an integer >= 1/,
    );
    assert.throws(() => queue.consume(() => {}, { prefetch: 1, concurrency: 2 }), /prefetch \(1\)/);
    assert.throws(() => queue.consume(() => {}, { leaseTimeout: -1 }), /leaseTimeout/);
    assert.throws(
      () => queue.consume('nope' as unknown as () => void),
      /handler must be a function/,
    );
    await assert.rejects(queue.publish(undefined), code('SLUICE_INVALID_MESSAGE'));
    await assert.rejects(queue.publish(10n), code('SLUICE_INVALID_MESSAGE'));
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await assert.rejects(queue.publish(circular), code('SLUICE_INVALID_MESSAGE'));
    await assert.rejects(queue.publish('x'.repeat(100)), /over the limit of 64/);
    await assert.rejects(queue.publish('ok', { delay: -5 }), /delay must be/);
    await assert.rejects(queue.publish('ok', { id: '' }), /id must be a non-empty string/);
    await assert.rejects(
      queue.publish('ok', { headers: { n: 1 as unknown as string } }),
      /header "n" must be a string/,
    );
    await assert.rejects(
      queue.publishBatch([{ payload: 'ok' }, { payload: undefined }]),
      code('SLUICE_INVALID_MESSAGE'),
    );
    const typed = broker.queue<{ qty: number }>(unique('typed'), {
      schema: {
        type: 'object',
        properties: { qty: { type: 'integer', minimum: 1 } },
        required: ['qty'],
      },
    });
    await assert.rejects(typed.publish({ qty: 0 }), /invalid payload: payload\/qty must be >= 1/);
    const guarded = broker.queue<string>(unique('guarded'), {
      schema: (p: unknown): p is string => typeof p === 'string',
    });
    await assert.rejects(guarded.publish(5 as unknown as string), code('SLUICE_INVALID_MESSAGE'));
    for (const q of [queue, typed, guarded]) assert.equal((await q.stats()).depth, 0);
  });
}
