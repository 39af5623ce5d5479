// The rabbitmq messaging driver beside raw amqplib doing the same work on the same local
// broker: quorum queues, persistent messages, one confirm channel with each publish awaiting
// its confirm, a message id on every message, basic.consume with basic.qos prefetch and one
// manual ack per message. What the driver does and raw does not: `mandatory` publishes (so
// that a deleted queue is an error, not a silent drop) with a published-at header, a length
// check against a queue count taken at most once a second, and a lease per delivery.
// Run: npm run build (in the package), then from bench/: node rabbitmq.bench.mjs [--quick]
// [--rounds N] [--messages N]   (SLUICE_DIST=<dir> to use another build of the package).
// amqplib is resolved from the package's own optional dependencies.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { engineSettings, payload, printEngineTable, runRounds } from './engine-harness.mjs';

const dist = process.env.SLUICE_DIST ?? new URL('../dist', import.meta.url).pathname;
const { connect } = await import(`${dist}/messaging/index.js`);
const { openRabbitDriver } = await import(`${dist}/messaging/drivers/rabbitmq/driver.js`);
const fromPackage = createRequire(new URL('../package.json', import.meta.url).pathname);
const amqpModule = await import(pathToFileURL(fromPackage.resolve('amqplib')).href);
const amqp = amqpModule.default ?? amqpModule;

const url = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const settings = engineSettings();
const { prefetch } = settings;
const tag = `bench-${process.pid}-${Date.now().toString(36)}`;

async function sluice(run) {
  const prefix = `${tag}-s${run.round}`;
  const broker = await connect({ driver: await openRabbitDriver(url, { prefix }) });
  const figures = await run.broker(broker);
  await broker.close();
  await drop([`${prefix}/q/pub`, `${prefix}/q/pub/dlq`, `${prefix}/q/e2e`, `${prefix}/q/e2e/dlq`]);
  return figures;
}

async function raw(run) {
  const conn = await amqp.connect(url);
  const ch = await conn.createConfirmChannel();
  const queue = (q) => `${tag}-r${run.round}-${q}`;
  for (const q of ['pub', 'e2e']) {
    await ch.assertQueue(queue(q), { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  }
  const send = (q, i) =>
    new Promise((resolve, reject) =>
      ch.sendToQueue(
        queue(q),
        Buffer.from(JSON.stringify(payload(i))),
        { persistent: true, messageId: `${q}-${i}` },
        (err) => (err ? reject(err) : resolve()),
      ),
    );
  const published = await run.publishing((i) => send('pub', i));
  const e2e = await run.endToEnd(
    async (onMessage) => {
      const consumer = await conn.createChannel();
      await consumer.prefetch(prefetch);
      const { consumerTag } = await consumer.consume(queue('e2e'), (m) => {
        if (m === null) return;
        onMessage(JSON.parse(m.content.toString()).at);
        consumer.ack(m);
      });
      return async () => {
        await consumer.cancel(consumerTag);
        await consumer.close();
      };
    },
    (i) => send('e2e', i),
  );
  await conn.close();
  await drop(['pub', 'e2e'].map(queue));
  return { ...published, ...e2e };
}

async function drop(queues) {
  const conn = await amqp.connect(url);
  const ch = await conn.createChannel();
  for (const q of queues) await ch.deleteQueue(q);
  await conn.close();
}

printEngineTable(
  'rabbitmq messaging: sluice, raw amqplib (quorum queues)',
  await runRounds({ sluice, 'raw amqplib': raw }, settings),
  settings,
);
