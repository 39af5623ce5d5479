import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { type ConnectOptions, connect } from '../../../src/messaging/index.js';
import { type Engine, requireEngine } from '../../support/engines.js';

// The same few lines of application code run on every engine, chosen by name and URL alone.
const engines: Array<[Engine, ConnectOptions]> = [
  ['redis', { driver: 'redis', url: 'redis://127.0.0.1:6379' }],
  ['nats', { driver: 'nats', url: 'nats://127.0.0.1:4222' }],
  ['postgres', { driver: 'postgres', url: 'postgres://postgres@127.0.0.1:5432/test' }],
  ['rabbitmq', { driver: 'rabbitmq', url: 'amqp://guest:guest@127.0.0.1:5672' }],
];

for (const [engine, options] of engines) {
  test(`connect({ driver: '${engine}', url }) publishes and consumes on the real ${engine}`, async () => {
    await requireEngine(engine);
    const broker = await connect(options);
    try {
      assert.equal(broker.driver, engine);
      const queue = broker.queue<{ n: number }>(`by-name-${randomUUID().slice(0, 8)}`);
      await queue.publish({ n: 1 });
      const seen: number[] = [];
      await new Promise<void>((resolve, reject) => {
        const consumer = queue.consume(async (message) => {
          seen.push(message.payload.n);
          resolve();
        });
        setTimeout(() => reject(new Error('no delivery within 10 s')), 10_000).unref();
        void consumer;
      });
      assert.deepEqual(seen, [1]);
    } finally {
      await broker.close({ drainTimeout: 1000 });
    }
  });
}
