// The sqlite messaging driver (durable: WAL, synchronous=FULL) beside BullMQ 6 on the local
// Redis and pg-boss 10 on the local PostgreSQL (database `test`), in one run:
//   1. durable publish: 256 publishers awaiting each publish (group commit), msgs/s, p50/p99
//      of the publish call; and batches of 500 (publishBatch / addBulk / insert)
//   2. end to end with batching: publish in batches while a consumer handles and acks
//   3. publish -> handle latency with single publishes paced at 1,000 and 5,000 msgs/s
// Run: npm run build (in the package), then from bench/: node messaging.bench.mjs [--quick]
// (--no-pgboss / --no-bullmq skip a peer; SLUICE_DIST=<dir> uses another build).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { machine, percentile } from './lib.mjs';

const dist = process.env.SLUICE_DIST ?? new URL('../dist', import.meta.url).pathname;
const { connect } = await import(`${dist}/messaging/index.js`);

const quick = process.argv.includes('--quick');
const n = quick ? 5_000 : 30_000;
const batch = 500;
const publishers = 256;
const paceRates = [1_000, 5_000];
const paceSeconds = quick ? 1 : 3;
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const pgUrl = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
const run = `bench-${process.pid}-${Date.now().toString(36)}`;
const payload = (i) => ({ orderId: i, sku: 'tea-0001', qty: 2, at: performance.now() });

function summary(latencies) {
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

/** `publishers` lanes each awaiting `send(i)` in turn; returns msgs/s and call latency. */
async function concurrentPublish(send) {
  let next = 0;
  const latencies = [];
  const t0 = performance.now();
  const lane = async () => {
    while (next < n) {
      const i = next++;
      const start = performance.now();
      await send(i);
      latencies.push(performance.now() - start);
    }
  };
  await Promise.all(Array.from({ length: publishers }, lane));
  return { rate: (n * 1000) / (performance.now() - t0), ...summary(latencies) };
}

/** Batches of `batch`, one at a time; latency is per batch call. */
async function batchedPublish(sendBatch) {
  const latencies = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i += batch) {
    const start = performance.now();
    await sendBatch(Array.from({ length: Math.min(batch, n - i) }, (_, j) => payload(i + j)));
    latencies.push(performance.now() - start);
  }
  return { rate: (n * 1000) / (performance.now() - t0), ...summary(latencies) };
}

/** Publishes n in batches while the consumer handles them; latency is publish -> handler. */
async function endToEnd(startConsumer, sendBatch) {
  const latencies = [];
  let resolveDone;
  const done = new Promise((r) => {
    resolveDone = r;
  });
  const stop = await startConsumer((sentAt) => {
    latencies.push(performance.now() - sentAt);
    if (latencies.length === n) resolveDone();
  });
  const t0 = performance.now();
  for (let i = 0; i < n; i += batch) {
    await sendBatch(Array.from({ length: Math.min(batch, n - i) }, (_, j) => payload(i + j)));
  }
  await done;
  const rate = (n * 1000) / (performance.now() - t0);
  await stop();
  return { rate, ...summary(latencies) };
}

/** Publishes single messages at `paceRate` per second; latency is publish call -> handler. */
async function paced(paceRate, startConsumer, send) {
  const total = paceRate * paceSeconds;
  const latencies = [];
  let resolveDone;
  const done = new Promise((r) => {
    resolveDone = r;
  });
  const stop = await startConsumer((sentAt) => {
    latencies.push(performance.now() - sentAt);
    if (latencies.length === total) resolveDone();
  });
  const t0 = performance.now();
  const pending = [];
  for (let i = 0; i < total; ) {
    const due = Math.floor(((performance.now() - t0) * paceRate) / 1000);
    for (; i < Math.min(due, total); i++) pending.push(send(i));
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(pending);
  await done;
  await stop();
  return summary(latencies);
}

async function sluiceCases() {
  let k = 0;
  const open = () => connect({ driver: 'sqlite', url: join(dir, `sluice-${k++}.db`) });
  const rows = [];
  {
    const broker = await open();
    const q = broker.queue('orders');
    rows.push({
      case: 'publish, 256 concurrent',
      ...(await concurrentPublish((i) => q.publish(payload(i)))),
    });
    await broker.close();
  }
  {
    const broker = await open();
    const q = broker.queue('orders');
    rows.push({
      case: `publish, batches of ${batch}`,
      ...(await batchedPublish((ps) => q.publishBatch(ps.map((p) => ({ payload: p }))))),
    });
    await broker.close();
  }
  const consumer = (broker) => async (onMessage) => {
    const c = broker.queue('orders').consume((m) => onMessage(m.payload.at), {
      prefetch: 2000,
      concurrency: 1000,
    });
    return () => c.stop();
  };
  {
    const broker = await open();
    const q = broker.queue('orders');
    rows.push({
      case: 'end to end, batched',
      ...(await endToEnd(consumer(broker), (ps) =>
        q.publishBatch(ps.map((p) => ({ payload: p }))),
      )),
    });
    await broker.close();
  }
  for (const rate of paceRates) {
    const broker = await open();
    const q = broker.queue('orders');
    rows.push({
      case: `latency at ${rate}/s`,
      ...(await paced(rate, consumer(broker), (i) => q.publish(payload(i)))),
    });
    await broker.close();
  }
  return rows.map((r) => ({ impl: 'sluice sqlite', ...r }));
}

async function bullmqCases() {
  const { Queue, Worker } = await import('bullmq');
  const connection = { url: redisUrl, maxRetriesPerRequest: null };
  let k = 0;
  const rows = [];
  const fresh = () => new Queue(`${run}-${k++}`, { connection });
  const opts = { removeOnComplete: true, removeOnFail: true };
  {
    const q = fresh();
    rows.push({
      case: 'publish, 256 concurrent',
      ...(await concurrentPublish((i) => q.add('o', payload(i), opts))),
    });
    await q.obliterate({ force: true });
    await q.close();
  }
  {
    const q = fresh();
    rows.push({
      case: `publish, batches of ${batch}`,
      ...(await batchedPublish((ps) => q.addBulk(ps.map((p) => ({ name: 'o', data: p, opts }))))),
    });
    await q.obliterate({ force: true });
    await q.close();
  }
  const consumer = (q) => async (onMessage) => {
    const w = new Worker(q.name, async (job) => onMessage(job.data.at), {
      connection,
      concurrency: 1000,
      removeOnComplete: { count: 0 },
    });
    await w.waitUntilReady();
    return () => w.close();
  };
  {
    const q = fresh();
    rows.push({
      case: 'end to end, batched',
      ...(await endToEnd(consumer(q), (ps) =>
        q.addBulk(ps.map((p) => ({ name: 'o', data: p, opts }))),
      )),
    });
    await q.obliterate({ force: true });
    await q.close();
  }
  for (const rate of paceRates) {
    const q = fresh();
    rows.push({
      case: `latency at ${rate}/s`,
      ...(await paced(rate, consumer(q), (i) => q.add('o', payload(i), opts))),
    });
    await q.obliterate({ force: true });
    await q.close();
  }
  return rows.map((r) => ({ impl: 'bullmq (redis)', ...r }));
}

async function pgBossCases() {
  const { PgBoss } = await import('pg-boss').then((m) => ({ PgBoss: m.default ?? m.PgBoss }));
  const boss = new PgBoss({ connectionString: pgUrl, schema: 'sluice_bench_pgboss' });
  boss.on('error', () => {});
  await boss.start();
  let k = 0;
  const rows = [];
  const fresh = async () => {
    const name = `${run}-${k++}`;
    await boss.createQueue(name);
    return name;
  };
  {
    const name = await fresh();
    rows.push({
      case: 'publish, 256 concurrent',
      ...(await concurrentPublish((i) => boss.send(name, payload(i)))),
    });
  }
  {
    const name = await fresh();
    rows.push({
      case: `publish, batches of ${batch}`,
      ...(await batchedPublish((ps) => boss.insert(ps.map((data) => ({ name, data }))))),
    });
  }
  {
    const name = await fresh();
    const consumer = async (onMessage) => {
      const id = await boss.work(
        name,
        { batchSize: 500, pollingIntervalSeconds: 0.5 },
        async (jobs) => {
          for (const job of jobs) onMessage(job.data.at);
        },
      );
      return () => boss.offWork(id);
    };
    rows.push({
      case: 'end to end, batched',
      ...(await endToEnd(consumer, (ps) => boss.insert(ps.map((data) => ({ name, data }))))),
    });
  }
  await boss.stop({ graceful: false });
  return rows.map((r) => ({ impl: 'pg-boss (postgres)', ...r }));
}

function cpuCheck() {
  const c0 = process.cpuUsage();
  let x = 0;
  for (let i = 0; i < 1e8; i++) x += i;
  const c = process.cpuUsage(c0);
  return x > 0 ? (c.user + c.system) / 1000 : 0;
}
const calibration = cpuCheck();

function print(rows) {
  console.log('\n## messaging: durable queue, sluice sqlite vs peers');
  console.log(`${machine()}; n=${n} per case, payload ~60 bytes JSON`);
  console.log(
    `cpu check: a 1e8-step loop took ${calibration.toFixed(0)} ms of CPU (~100 on an idle core)`,
  );
  console.log('sluice: WAL, synchronous=FULL (a resolved publish survives power loss)');
  console.log('bullmq: the local Redis as configured here, which may run without persistence');
  console.log('x = sluice msgs/s / peer msgs/s (> 1: sluice is faster)\n');
  const header = ['case', 'impl', 'msgs/s', 'p50 ms', 'p99 ms', 'x'];
  const lines = [header];
  for (const c of [...new Set(rows.map((r) => r.case))]) {
    const group = rows.filter((r) => r.case === c);
    const ours = group.find((r) => r.impl.startsWith('sluice'));
    for (const r of group) {
      const ratio = ours?.rate && r !== ours && r.rate ? `${(ours.rate / r.rate).toFixed(1)}x` : '';
      lines.push([
        c,
        r.impl,
        r.rate ? Math.round(r.rate).toLocaleString('en-US') : '-',
        r.p50.toFixed(2),
        r.p99.toFixed(2),
        ratio,
      ]);
    }
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => String(l[i]).length)));
  for (const l of lines) console.log(l.map((v, i) => String(v).padEnd(widths[i])).join('  '));
}

const rows = [];
try {
  rows.push(...(await sluiceCases()));
  if (!process.argv.includes('--no-bullmq')) {
    try {
      rows.push(...(await bullmqCases()));
    } catch (error) {
      console.error(`bullmq skipped: ${error.message}`);
    }
  }
  if (!process.argv.includes('--no-pgboss')) {
    try {
      rows.push(...(await pgBossCases()));
    } catch (error) {
      console.error(`pg-boss skipped: ${error.message}`);
    }
  }
  print(rows);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
