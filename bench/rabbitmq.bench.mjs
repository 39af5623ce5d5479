// The rabbitmq messaging driver beside raw amqplib doing the same work on the same local
// broker (quorum queue, persistent messages, publisher confirms, manual ack per message,
// basic.qos prefetch): publish and publish->handle->ack end to end, msgs/s and p50/p99.
// Run: npm run build (in the package), then from bench/: node rabbitmq.bench.mjs [--quick]
// (SLUICE_DIST=<dir> to use another build of the package). amqplib is resolved from the
// package's own optional dependencies.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { machine, percentile } from './lib.mjs';

const dist = process.env.SLUICE_DIST ?? new URL('../dist', import.meta.url).pathname;
const { connect } = await import(`${dist}/messaging/index.js`);
const { openRabbitDriver } = await import(`${dist}/messaging/drivers/rabbitmq/driver.js`);
const fromPackage = createRequire(new URL('../package.json', import.meta.url).pathname);
const amqpModule = await import(pathToFileURL(fromPackage.resolve('amqplib')).href);
const amqp = amqpModule.default ?? amqpModule;

const url = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const quick = process.argv.includes('--quick');
const n = quick ? 3_000 : 20_000;
const inFlight = 64;
const prefetch = 128;
const run = `bench-${process.pid}-${Date.now().toString(36)}`;
const payload = (i) => ({ orderId: i, sku: 'tea-0001', qty: 2, at: performance.now() });

const cpuMicros = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

/** Calls `send(i)` for i in [0, n) with `inFlight` outstanding; returns msgs/s. */
async function drive(send) {
  let next = 0;
  const t0 = performance.now();
  const lane = async () => {
    while (next < n) await send(next++);
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return (n * 1000) / (performance.now() - t0);
}

async function publishing(send) {
  const cpu0 = cpuMicros();
  const publish = await drive(send);
  return { publish, publishCpu: (cpuMicros() - cpu0) / n };
}

/** Publishes n while `start` consumes them; latency is publish call -> handler. */
async function endToEnd(start, send) {
  const latencies = [];
  let resolveDone;
  const done = new Promise((r) => {
    resolveDone = r;
  });
  const onMessage = (sentAt) => {
    latencies.push(performance.now() - sentAt);
    if (latencies.length === n) resolveDone();
  };
  const stop = await start(onMessage);
  const t0 = performance.now();
  const cpu0 = cpuMicros();
  await drive(send);
  await done;
  const rate = (n * 1000) / (performance.now() - t0);
  const e2eCpu = (cpuMicros() - cpu0) / n;
  await stop();
  latencies.sort((a, b) => a - b);
  return { rate, e2eCpu, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

async function sluice() {
  const prefix = `${run}-s`;
  const broker = await connect({ driver: await openRabbitDriver(url, { prefix }) });
  const pub = broker.queue('pub');
  await pub.publish(payload(-1));
  const published = await publishing((i) => pub.publish(payload(i)));
  const e2eQueue = broker.queue('e2e');
  const e2e = await endToEnd(
    async (onMessage) => {
      const consumer = e2eQueue.consume((m) => onMessage(m.payload.at), {
        prefetch,
        concurrency: 64,
      });
      return () => consumer.stop();
    },
    (i) => e2eQueue.publish(payload(i)),
  );
  await broker.close();
  await drop([`${prefix}/q/pub`, `${prefix}/q/pub/dlq`, `${prefix}/q/e2e`, `${prefix}/q/e2e/dlq`]);
  return { ...published, ...e2e };
}

async function raw() {
  const conn = await amqp.connect(url);
  const ch = await conn.createConfirmChannel();
  const queue = (q) => `${run}-r-${q}`;
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
  const published = await publishing((i) => send('pub', i));
  const e2e = await endToEnd(
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

const results = {};
for (const [name, fn] of Object.entries({ sluice, 'raw amqplib': raw })) results[name] = await fn();

console.log(
  `\n## rabbitmq messaging: ${n} messages, ${inFlight} publishes in flight, JSON payload ~80 B, quorum queues`,
);
console.log(`${machine()}\n`);
const rows = [
  [
    'impl',
    'publish msgs/s',
    'publish cpu µs/msg',
    'e2e msgs/s',
    'e2e cpu µs/msg',
    'e2e p50 ms',
    'e2e p99 ms',
  ],
];
for (const [name, r] of Object.entries(results)) {
  rows.push([
    name,
    Math.round(r.publish).toLocaleString('en-US'),
    r.publishCpu.toFixed(0),
    Math.round(r.rate).toLocaleString('en-US'),
    r.e2eCpu.toFixed(0),
    r.p50.toFixed(2),
    r.p99.toFixed(2),
  ]);
}
const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => String(row[i]).length)));
for (const row of rows) console.log(row.map((v, i) => String(v).padEnd(widths[i])).join('  '));
const ours = results.sluice;
const peer = results['raw amqplib'];
const ratio = (a, b) => (a / b).toFixed(2);
console.log(
  `\nsluice / raw amqplib msgs/s: publish ${ratio(ours.publish, peer.publish)}, end to end ${ratio(ours.rate, peer.rate)} (> 1: sluice faster)`,
);
console.log(
  `sluice / raw amqplib cpu per msg: publish ${ratio(ours.publishCpu, peer.publishCpu)}, end to end ${ratio(ours.e2eCpu, peer.e2eCpu)} (> 1: sluice costs more)`,
);
