import assert from 'node:assert/strict';
import { it } from 'node:test';
import { isSluiceError } from '../../src/core/errors.js';
import { unique, waitFor } from './helpers.js';
import type { SuiteContext } from './suite.js';

interface OrderEvent {
  type: 'order.fulfilled' | 'order.failed';
  orderId: number;
}

export function topics(ctx: SuiteContext): void {
  it("delivers every event to every group, sharing it among one group's consumers", async () => {
    const name = unique('orders-events');
    if (!ctx.broker().capabilities.topics) {
      assert.throws(
        () => ctx.broker().topic(name),
        (e) => isSluiceError(e, 'SLUICE_UNSUPPORTED'),
      );
      return;
    }
    const topic = ctx.broker().topic<OrderEvent>(name);
    const inventory: number[] = [];
    const billing: [number, number][] = [];
    await topic.subscribe('inventory', (m) => {
      inventory.push(m.payload.orderId);
    });
    for (const worker of [0, 1]) {
      await topic.subscribe(
        'billing',
        (m) => {
          billing.push([worker, m.payload.orderId]);
        },
        { prefetch: 2 },
      );
    }
    const n = 40;
    await topic.publishBatch(
      Array.from({ length: n }, (_, i) => ({
        payload: { type: 'order.fulfilled' as const, orderId: i },
      })),
    );
    await waitFor('both groups', () => inventory.length === n && billing.length === n);
    assert.deepEqual(
      [...inventory].sort((a, b) => a - b),
      Array.from({ length: n }, (_, i) => i),
    );
    assert.deepEqual(
      billing.map(([, id]) => id).sort((a, b) => a - b),
      Array.from({ length: n }, (_, i) => i),
    );
    const messages = await topic.stats('billing');
    assert.equal(messages.depth, 0);
  });

  it('gives a group only events published after the group was created', async () => {
    const name = unique('late-group');
    if (!ctx.broker().capabilities.topics) return;
    const topic = ctx.broker().topic<string>(name);
    await topic.publish('before');
    await topic.createGroup('audit');
    await topic.publish('after');
    const seen: string[] = [];
    await topic.subscribe('audit', (m) => {
      seen.push(m.payload);
    });
    await waitFor('the event', () => seen.length === 1);
    assert.equal((await topic.stats('audit')).depth, 0);
    assert.deepEqual(seen, ['after']);
  });

  it('retries and dead-letters per group, leaving other groups untouched', async () => {
    const name = unique('events-dlq');
    if (!ctx.broker().capabilities.topics) return;
    const topic = ctx.broker().topic<string>(name);
    const good: string[] = [];
    await topic.subscribe('good', (m) => {
      good.push(m.payload);
    });
    await topic.subscribe(
      'bad',
      () => {
        throw new Error('nope');
      },
      { retry: () => 1, maxAttempts: 2 },
    );
    await topic.publish('e1', { id: 'e1' });
    // Each group goes at its own pace: "good" may take longer for its one delivery than
    // "bad" for its two and the dead letter.
    await waitFor('the dead letter', async () => (await topic.stats('bad')).deadLettered === 1);
    await waitFor('the good group to handle e1', () => good.length > 0);
    assert.deepEqual(good, ['e1']);
    assert.equal((await topic.stats('good')).deadLettered, 0);
    const [dead] = await topic.deadLetters('bad').list();
    assert.equal(dead!.id, 'e1');
    assert.equal(dead!.attempt, 2);
  });

  it('de-duplicates a repeated event id for every group at once', async () => {
    const name = unique('events-dedupe');
    const caps = ctx.broker().capabilities;
    if (!caps.topics || !caps.dedupe) return;
    const topic = ctx.broker().topic<string>(name);
    await topic.createGroup('a');
    await topic.createGroup('b');
    await topic.publish('x', { id: 'evt-1' });
    assert.equal((await topic.publish('x', { id: 'evt-1' })).duplicate, true);
    assert.equal((await topic.stats('a')).depth, 1);
    assert.equal((await topic.stats('b')).depth, 1);
  });
}
