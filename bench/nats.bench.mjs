// The nats messaging driver beside the raw JetStream client doing the same work on the
// same local server (work-queue stream, durable pull consumer, one ack per message):
// publish and publish->handle->ack end to end: msgs/s, CPU per message and p50/p99 latency.
// Run: npm run build (in the package), then from bench/: node nats.bench.mjs [--quick]
// (SLUICE_DIST=<dir> to use another build of the package). The @nats-io packages are
// resolved from the package's own optional dependencies.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { machine, percentile } from './lib.mjs';

const dist = process.env.SLUICE_DIST ?? new URL('../dist', import.meta.url).pathname;
const { connect } = await import(`${dist}/messaging/index.js`);
const { openNatsDriver } = await import(`${dist}/messaging/drivers/nats/driver.js`);
const fromPackage = createRequire(`${dist}/`);
const load = (name) => import(pathToFileURL(fromPackage.resolve(name)).href);
const { connect: natsConnect } = await load('@nats-io/transport-node');
const { jetstream, jetstreamManager } = await load('@nats-io/jetstream');

const url = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const quick = process.argv.includes('--quick');
const n = quick ? 3_000 : 20_000;
const inFlight = 64;
const prefetch = 128;
const run = `bench${process.pid}x${Date.now().toString(36)}`;
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

/** `drive` plus this process's CPU time per message (steadier than rates on a busy machine). */
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
  const driver = await openNatsDriver(url, { prefix: `${run}s` });
  const broker = await connect({ driver });
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
  await driver.dropAll();
  await broker.close();
  return { ...published, ...e2e };
}

async function raw() {
  const nc = await natsConnect({ servers: url });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const stream = (q) => ({
    name: `${run}r_${q}`,
    subjects: [`${run}r.${q}`],
    retention: 'workqueue',
  });
  for (const q of ['pub', 'e2e']) await jsm.streams.add(stream(q));
  const send = (q, i) =>
    js.publish(`${run}r.${q}`, JSON.stringify(payload(i)), { msgID: `${q}-${i}` });
  const published = await publishing((i) => send('pub', i));
  await jsm.consumers.add(stream('e2e').name, { durable_name: 'work', ack_policy: 'explicit' });
  const e2e = await endToEnd(
    async (onMessage) => {
      const consumer = await js.consumers.get(stream('e2e').name, 'work');
      const messages = await consumer.consume({ max_messages: prefetch });
      const loop = (async () => {
        for await (const m of messages) {
          onMessage(m.json().at);
          m.ack();
        }
      })();
      return async () => {
        await messages.close();
        await loop;
      };
    },
    (i) => send('e2e', i),
  );
  for (const q of ['pub', 'e2e']) await jsm.streams.delete(stream(q).name);
  await nc.close();
  return { ...published, ...e2e };
}

// Interleaved rounds, best of each: both share the client library, so whichever ran first
// would otherwise pay its JIT warm-up alone; and this keeps one slow moment of a busy
// machine from deciding the comparison.
const rounds = quick ? 1 : 3;
const results = {};
const better = (a, b) => (a === undefined || b.rate + b.publish > a.rate + a.publish ? b : a);
await sluice();
await raw();
for (let round = 0; round < rounds; round++) {
  for (const [name, fn] of Object.entries({ sluice, 'raw jetstream': raw })) {
    results[name] = better(results[name], await fn());
  }
}

console.log(
  `\n## nats messaging: ${n} messages, ${inFlight} publishes in flight, prefetch ${prefetch}, JSON payload ~80 B; best of ${rounds} interleaved rounds after a warm-up`,
);
console.log(`${machine()}\n`);
const ours = results.sluice;
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
const peer = results['raw jetstream'];
const ratio = (a, b) => (a / b).toFixed(2);
console.log(
  `\nsluice / raw jetstream msgs/s: publish ${ratio(ours.publish, peer.publish)}, end to end ${ratio(ours.rate, peer.rate)} (> 1: sluice faster)`,
);
console.log(
  `sluice / raw jetstream cpu per msg: publish ${ratio(ours.publishCpu, peer.publishCpu)}, end to end ${ratio(ours.e2eCpu, peer.e2eCpu)} (> 1: sluice costs more)`,
);
