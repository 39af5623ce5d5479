// The postgres messaging driver beside raw `pg` running the same SKIP LOCKED queue by hand
// (INSERT + NOTIFY; claim a batch with UPDATE ... FOR UPDATE SKIP LOCKED; DELETE the done
// rows) and pg-boss 10, all on the same local PostgreSQL: publish and publish->handle->ack
// end to end, msgs/s and p50/p99 latency. Run: npm run build (in the package), then from
// bench/: node postgres.bench.mjs [--quick]   (SLUICE_DIST=<dir> to use another build;
// POSTGRES_URL to use another server)
import pg from 'pg';
import PgBoss from 'pg-boss';
import { machine, median, percentile } from './lib.mjs';

const dist = process.env.SLUICE_DIST ?? new URL('../dist', import.meta.url).pathname;
const { connect } = await import(`${dist}/messaging/index.js`);
const { openPostgresDriver } = await import(`${dist}/messaging/drivers/postgres/driver.js`);

const url = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const quick = process.argv.includes('--quick');
const n = quick ? 3_000 : 20_000;
const inFlight = 64;
const poolSize = 16;
const run = `bench_${process.pid}_${Date.now().toString(36)}`;
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

/** Publishes n while `start`'s consumer handles them; latency is publish call -> handler. */
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
  const driver = await openPostgresDriver(url, { schema: `${run}_sluice`, poolSize });
  const broker = await connect({ driver });
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

/** The same design written directly against `pg`: what the driver costs on top of it. */
async function raw() {
  const schema = `${run}_raw`;
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  await pool.query(`CREATE TABLE IF NOT EXISTS ${schema}.jobs (
    seq bigint GENERATED ALWAYS AS IDENTITY, queue text NOT NULL, body text NOT NULL,
    due_at timestamptz NOT NULL DEFAULT now())`);
  await pool.query(`CREATE INDEX IF NOT EXISTS jobs_claim ON ${schema}.jobs (queue, due_at, seq)`);
  await pool.query(`CREATE INDEX IF NOT EXISTS jobs_seq ON ${schema}.jobs (queue, seq)`);
  const channel = `${schema}_wake`;
  const send = (queue, i) =>
    pool.query(
      `WITH i AS (INSERT INTO ${schema}.jobs (queue, body) VALUES ($1, $2) RETURNING 1)
       SELECT pg_notify($3, $1) FROM i`,
      [queue, JSON.stringify(payload(i)), channel],
    );
  const publish = await drive((i) => send(`pub-${round}`, i));
  const queue = `e2e-${round}`;
  const e2e = await endToEnd(
    async (onMessage) => {
      const listener = new pg.Client({ connectionString: url });
      await listener.connect();
      let wake;
      listener.on('notification', () => wake?.());
      await listener.query(`LISTEN "${channel}"`);
      let stopping = false;
      const loop = (async () => {
        while (!stopping) {
          const { rows } = await pool.query(
            `WITH p AS (
               SELECT seq FROM ${schema}.jobs WHERE queue = $1 AND due_at <= now()
               ORDER BY due_at, seq LIMIT 128 FOR UPDATE SKIP LOCKED)
             UPDATE ${schema}.jobs j SET due_at = now() + interval '30 seconds'
             FROM p WHERE j.queue = $1 AND j.seq = p.seq RETURNING j.seq, j.body`,
            [queue],
          );
          for (const row of rows) onMessage(JSON.parse(row.body).at);
          if (rows.length > 0) {
            await pool.query(`DELETE FROM ${schema}.jobs WHERE queue = $1 AND seq = ANY($2)`, [
              queue,
              rows.map((r) => r.seq),
            ]);
          } else {
            await new Promise((resolve) => {
              const timer = setTimeout(resolve, 1000);
              wake = () => {
                clearTimeout(timer);
                resolve();
              };
            });
          }
        }
      })();
      return async () => {
        stopping = true;
        wake?.();
        await loop;
        await listener.end();
      };
    },
    (i) => send(queue, i),
  );
  await pool.end();
  return { publish, ...e2e };
}

async function pgBoss() {
  const boss = new PgBoss({ connectionString: url, schema: `${run}_boss`, max: poolSize });
  boss.on('error', () => {});
  await boss.start();
  const pubQueue = `pub-${round}`;
  const e2eQueue = `e2e-${round}`;
  await boss.createQueue(pubQueue);
  await boss.createQueue(e2eQueue);
  const publish = await drive((i) => boss.send(pubQueue, payload(i)));
  const e2e = await endToEnd(
    async (onMessage) => {
      // Its fastest documented polling (0.5 s) and four workers fetching 128 jobs each.
      const ids = [];
      for (let w = 0; w < 4; w++) {
        ids.push(
          await boss.work(
            e2eQueue,
            { batchSize: 128, pollingIntervalSeconds: 0.5 },
            async (jobs) => {
              for (const job of jobs) onMessage(job.data.at);
            },
          ),
        );
      }
      return async () => {
        for (const id of ids) await boss.offWork({ id });
      };
    },
    (i) => boss.send(e2eQueue, payload(i)),
  );
  await boss.stop({ graceful: false, wait: true });
  return { publish, ...e2e };
}

async function cleanup() {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  for (const suffix of ['sluice', 'raw', 'boss']) {
    await client.query(`DROP SCHEMA IF EXISTS ${run}_${suffix} CASCADE`);
  }
  await client.end();
}

// Rounds interleave the three, and medians are kept, so load from other processes on a
// shared machine colours all of them alike.
const rounds = quick ? 1 : 3;
const runs = { sluice: [], 'raw pg': [], 'pg-boss': [] };
const impls = { sluice, 'raw pg': raw, 'pg-boss': pgBoss };
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
  `\n## postgres messaging: ${n} messages, ${inFlight} publishes in flight, pools of ${poolSize}, JSON payload ~80 B, median of ${rounds} interleaved rounds`,
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
  `\nsluice vs raw pg: ${vs('raw pg')}; sluice vs pg-boss: ${vs('pg-boss')} (> 1 means sluice is faster)`,
);
