// Dead-lettering copies a message to the dead-letter queue, then acks the original. A
// consumer SIGKILLed between the two leaves the original to be redelivered and dead-lettered
// again: the dead-letter queue must still hold one dead letter for it, and replay() must
// deliver it once. Run by the test runner, this file is the parent; spawned with
// SLUICE_DLQ_KILL_CHILD set, it is the consumer that kills itself in that window.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openNatsDriver } from '../../../src/messaging/drivers/nats/driver.js';
import { JsDelivery } from '../../../src/messaging/drivers/nats/jsmsg.js';
import { openRabbitDriver } from '../../../src/messaging/drivers/rabbitmq/driver.js';
import { type Broker, connect, NonRetryableError } from '../../../src/messaging/index.js';
import { requireEngine } from '../../support/engines.js';
import { waitFor } from '../../support/wait-for.js';
import { dropPrefix, rabbitUrl } from './rabbitmq-support.js';

const natsUrl = 'nats://127.0.0.1:4222';
const ackWait = 1000;
type Engine = 'rabbitmq' | 'nats';

async function open(engine: Engine, prefix: string): Promise<Broker> {
  const driver =
    engine === 'nats'
      ? await openNatsDriver(natsUrl, { prefix, ackWait })
      : await openRabbitDriver(rabbitUrl, { prefix });
  return connect({ driver });
}

/** Every delivery fails for good, so each is dead-lettered at once. */
function consumePoison(broker: Broker, onHandled: () => void = () => {}) {
  broker.queue<string>('jobs').consume(() => {
    onHandled();
    throw new NonRetryableError('poison');
  });
}

const child = process.env.SLUICE_DLQ_KILL_CHILD;
if (child !== undefined) {
  const [engine, prefix] = child.split(' ') as [Engine, string];
  // The first ack this process makes is the original's, right after its dead letter was
  // stored (confirmed): die instead of sending it.
  const die = () => process.kill(process.pid, 'SIGKILL');
  if (engine === 'nats') JsDelivery.prototype.ack = die;
  else {
    // amqplib's Channel is not exported: reach it beside the package's entry point.
    const require = createRequire(import.meta.url);
    const model = join(dirname(require.resolve('amqplib')), 'lib', 'channel_model.js');
    require(model).Channel.prototype.ack = die;
  }
  consumePoison(await open(engine, prefix));
} else {
  for (const engine of ['rabbitmq', 'nats'] as const) {
    it(`${engine}: a consumer killed between storing a dead letter and acking leaves one dead letter, replayed once`, async () => {
      await requireEngine(engine);
      const prefix = `dlqkill${process.pid}x${Date.now().toString(36)}`;
      const broker = await open(engine, prefix);
      let survivor: Broker | undefined;
      try {
        const jobs = broker.queue<string>('jobs', { dedupeWindow: 0 });
        await jobs.publish('poison', { id: 'poison-1' });
        const victim = spawn(
          process.execPath,
          ['--import', 'tsx', fileURLToPath(import.meta.url)],
          {
            env: { ...process.env, SLUICE_DLQ_KILL_CHILD: `${engine} ${prefix}` },
            stdio: 'inherit',
          },
        );
        const [, signal] = await new Promise<[number | null, string | null]>((resolve) =>
          victim.once('exit', (code, sig) => resolve([code, sig])),
        );
        assert.equal(signal, 'SIGKILL', 'the victim did not die in the window');
        assert.equal((await jobs.stats()).deadLettered, 1, 'the victim stored no dead letter');

        // The original comes back (at once on RabbitMQ, after ack_wait on NATS) and is
        // dead-lettered again by another consumer.
        survivor = await open(engine, prefix);
        let handled = 0;
        consumePoison(survivor, () => handled++);
        await waitFor('the redelivery to be dead-lettered', async () => {
          const s = await jobs.stats();
          return handled > 0 && s.depth + s.inFlight + s.delayed === 0;
        });
        await survivor.close({ drainTimeout: 1000 });
        survivor = undefined;

        // JetStream de-duplicates the second copy as it is stored (Nats-Msg-Id); RabbitMQ
        // cannot, and counts both until a replay or purge takes them.
        const { deadLettered } = await jobs.stats();
        assert.equal(deadLettered, engine === 'nats' ? 1 : 2);
        const listed = await jobs.deadLetters.list();
        assert.deepEqual(
          listed.map((d) => d.id),
          ['poison-1'],
        );
        assert.equal(await jobs.deadLetters.replay(), 1);
        assert.equal((await jobs.stats()).depth, 1, 'replay delivered the message more than once');
        assert.deepEqual(
          await jobs.deadLetters.list(),
          [],
          'a copy stayed in the dead-letter queue',
        );
      } finally {
        await survivor?.close({ drainTimeout: 1000 });
        await broker.close({ drainTimeout: 1000 });
        if (engine === 'rabbitmq') await dropPrefix(prefix);
        else {
          const admin = await openNatsDriver(natsUrl, { prefix });
          await admin.dropAll();
          await admin.close();
        }
      }
    });
  }
}
