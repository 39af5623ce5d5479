// The redis messaging driver beside raw ioredis (XADD / XREADGROUP / XACK by hand) and
// BullMQ 6, all on the same local Redis: publish and publish->handle->ack end to end,
// msgs/s and p50/p99 latency. Run: npm run build (in the package), then from bench/:
// node redis.bench.mjs [--quick]   (SLUICE_DIST=<dir> to use another build of the package)
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { machine, median, percentile } from './lib.mjs';

const dist = process.env.SLUICE_DIST ?? new URL('../dist', import.meta.url).pathname;
const { connect } = await import(`${dist}/messaging/index.js`);
const { openRedisDriver } = await import(`${dist}/messaging/drivers/redis/driver.js`);

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const quick = process.argv.includes('--quick');
const n = quick ? 3_000 : 20_000;
const inFlight = 64;
const run = `bench-${process.pid}-${Date.now().toString(36)}`;
let round = 0;
const payload = (i) => ({ orderId: i, sku: 'tea-0001', qty: 2, at: performance.now() });

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

/** Publishes n while `consume` handles them; latency is publish call -> handler. */
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
  await drive(send);
  await done;
  const rate = (n * 1000) / (performance.now() - t0);
  await stop();
  latencies.sort((a, b) => a - b);
  return { rate, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

async function sluice() {
  const broker = await connect({ driver: await openRedisDriver(url, { prefix: `${run}:` }) });
  const pub = broker.queue(`pub-${round}`);
  const publish = await drive((i) => pub.publish(payload(i)));
  const e2eQueue = broker.queue(`e2e-${round}`);
  const e2e = await endToEnd(
    async (onMessage) => {
      const consumer = e2eQueue.consume((m) => onMessage(m.payload.at), {
        prefetch: 128,
        concurrency: 64,
      });
      return () => consumer.stop();
    },
    (i) => e2eQueue.publish(payload(i)),
  );
  await broker.close();
  return { publish, ...e2e };
}

async function raw() {
  const client = new Redis(url);
  const reader = new Redis(url);
  const key = (q) => `${run}:raw:${q}-${round}`;
  const xadd = (q, i) => client.xadd(key(q), '*', 'b', JSON.stringify(payload(i)));
  const publish = await drive((i) => xadd('pub', i));
  await client.xgroup('CREATE', key('e2e'), 'g', '0', 'MKSTREAM');
  const e2e = await endToEnd(
    async (onMessage) => {
      let stopping = false;
      const loop = (async () => {
        while (!stopping) {
          const res = await reader.xreadgroup(
            'GROUP',
            'g',
            'c',
            'COUNT',
            128,
            'BLOCK',
            100,
            'STREAMS',
            key('e2e'),
            '>',
          );
          if (res === null) continue;
          const entries = res[0][1];
          for (const [, fields] of entries) onMessage(JSON.parse(fields[1]).at);
          await client.xack(key('e2e'), 'g', ...entries.map(([id]) => id));
        }
      })();
      return async () => {
        stopping = true;
        await loop;
      };
    },
    (i) => xadd('e2e', i),
  );
  await client.quit();
  await reader.quit();
  return { publish, ...e2e };
}

async function bullmq() {
  const connection = {
    host: new URL(url).hostname,
    port: Number(new URL(url).port || 6379),
    maxRetriesPerRequest: null,
  };
  const prefix = `${run}:bull`;
  const pubQueue = new Queue(`pub-${round}`, { connection, prefix });
  const jobOptions = { removeOnComplete: true, removeOnFail: true };
  const publish = await drive((i) => pubQueue.add('job', payload(i), jobOptions));
  const e2eQueue = new Queue(`e2e-${round}`, { connection, prefix });
  const e2e = await endToEnd(
    async (onMessage) => {
      const worker = new Worker(`e2e-${round}`, async (job) => onMessage(job.data.at), {
        connection,
        prefix,
        concurrency: 64,
      });
      await worker.waitUntilReady();
      return () => worker.close();
    },
    (i) => e2eQueue.add('job', payload(i), jobOptions),
  );
  for (const q of [pubQueue, e2eQueue]) {
    await q.obliterate({ force: true });
    await q.close();
  }
  return { publish, ...e2e };
}

async function cleanup() {
  const client = new Redis(url);
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${run}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await client.unlink(...keys);
  } while (cursor !== '0');
  await client.quit();
}

// Rounds interleave the three, and medians are kept, so load from other processes on a
// shared machine colours all of them alike.
const rounds = quick ? 1 : 3;
const runs = { sluice: [], 'raw ioredis': [], bullmq: [] };
const impls = { sluice, 'raw ioredis': raw, bullmq };
try {
  for (; round < rounds; round++) {
    for (const [name, fn] of Object.entries(impls)) runs[name].push(await fn());
  }
} finally {
  await cleanup();
}
const results = {};
for (const [name, list] of Object.entries(runs)) {
  results[name] = Object.fromEntries(
    ['publish', 'rate', 'p50', 'p99'].map((k) => [k, median(list.map((r) => r[k]))]),
  );
}

console.log(
  `\n## redis messaging: ${n} messages, ${inFlight} publishes in flight, JSON payload ~80 B, median of ${rounds} interleaved rounds`,
);
console.log(`${machine()}\n`);
const ours = results.sluice;
const rows = [
  ['impl', 'publish msgs/s', 'e2e msgs/s', 'e2e p50 ms', 'e2e p99 ms', 'e2e msgs/s vs sluice'],
];
for (const [name, r] of Object.entries(results)) {
  rows.push([
    name,
    Math.round(r.publish).toLocaleString('en-US'),
    Math.round(r.rate).toLocaleString('en-US'),
    r.p50.toFixed(2),
    r.p99.toFixed(2),
    r === ours ? '' : `${(r.rate / ours.rate).toFixed(2)}x`,
  ]);
}
const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => String(row[i]).length)));
for (const row of rows) console.log(row.map((v, i) => String(v).padEnd(widths[i])).join('  '));
const vs = (peer) =>
  `publish ${(ours.publish / results[peer].publish).toFixed(2)}x, end to end ${(ours.rate / results[peer].rate).toFixed(2)}x`;
console.log(
  `\nsluice vs raw ioredis: ${vs('raw ioredis')}; sluice vs bullmq: ${vs('bullmq')} (> 1 means sluice is faster)`,
);
