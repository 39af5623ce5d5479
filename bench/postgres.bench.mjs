// The postgres messaging driver beside raw `pg` running the same SKIP LOCKED queue by hand
// and pg-boss 10, all on the same local PostgreSQL. Raw: concurrent publishes share one
// INSERT ... unnest + NOTIFY (group commit, as the driver's do, up to 4 statements at a
// time); claim a batch with UPDATE ... FOR UPDATE SKIP LOCKED; DELETE the done rows while
// claiming the next batch. Every message is a committed row, every ack a deleted one, on
// both; neither names its statements (see the driver's statements.ts for why). What
// the driver does and raw does not: dedupe and length-limit checks on publish, headers,
// keys, attempts and leases renewed while held; its publish, claim and ack run as schema
// functions, whose plans the server keeps for the session, where raw's statements are
// planned on every call. pg-boss: send per message, four workers.
// Run: npm run build (in the package), then from bench/: node postgres.bench.mjs [--quick]
// [--rounds N] [--messages N] [--peers raw,pg-boss]
//   SLUICE_DIST=<dir>      use another build of the package
//   SLUICE_BASELINE=<dir>  also run that build, as "sluice baseline", in the same rounds (A/B)
//   POSTGRES_URL=...       another server
import pg from 'pg';
import PgBoss from 'pg-boss';
import { engineSettings, payload, printEngineTable, runRounds } from './engine-harness.mjs';

const dist = process.env.SLUICE_DIST ?? new URL('../dist', import.meta.url).pathname;
const baselineDist = process.env.SLUICE_BASELINE;

async function load(dir) {
  const { connect } = await import(`${dir}/messaging/index.js`);
  const { openPostgresDriver } = await import(`${dir}/messaging/drivers/postgres/driver.js`);
  return { connect, openPostgresDriver };
}

const url = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
// pg-boss polls (at best every 0.5 s) and handles about a thousand msgs/s here: fewer
// messages keep the full run to a minute or two.
const settings = engineSettings({ messages: 6_000 });
const { prefetch } = settings;
const poolSize = 16;
const tag = `bench_${process.pid}_${Date.now().toString(36)}`;

const peersAt = process.argv.indexOf('--peers');
const peers = peersAt < 0 ? ['raw', 'pg-boss'] : process.argv[peersAt + 1].split(',');

function sluiceWith(build, suffix) {
  return async (run) => {
    // Both builds define the same metrics: each run gets a registry of its own.
    delete globalThis[Symbol.for('sluice.metrics.registry')];
    const driver = await build.openPostgresDriver(url, { schema: `${tag}_${suffix}`, poolSize });
    const broker = await build.connect({ driver });
    const queues = { pub: `pub-${run.round}`, e2e: `e2e-${run.round}` };
    const figures = await run.broker(broker, queues);
    await broker.close();
    return figures;
  };
}

/**
 * Calls `write(items)` with the items of concurrent calls together, up to `flights` writes
 * at a time: the group commit the driver's publishes get, for the hand-written queue.
 */
function groupCommit(write, flights = 4) {
  let waiting = [];
  let busy = 0;
  const drain = async () => {
    busy++;
    while (waiting.length > 0) {
      const batch = waiting;
      waiting = [];
      try {
        await write(batch.map((w) => w.item));
        for (const w of batch) w.resolve();
      } catch (error) {
        for (const w of batch) w.reject(error);
      }
    }
    busy--;
  };
  let scheduled = false;
  return (item) =>
    new Promise((resolve, reject) => {
      waiting.push({ item, resolve, reject });
      if (busy >= flights || scheduled) return;
      // One turn of the event loop gathers the sends made together.
      scheduled = true;
      setImmediate(() => {
        scheduled = false;
        void drain();
      });
    });
}

/** The same design written directly against `pg`: what the driver costs on top of it. */
async function raw(run) {
  const schema = `${tag}_raw`;
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  await pool.query(`CREATE TABLE IF NOT EXISTS ${schema}.jobs (
    seq bigint GENERATED ALWAYS AS IDENTITY, queue text NOT NULL, id uuid NOT NULL,
    body text NOT NULL,
    due_at timestamptz NOT NULL DEFAULT now())`);
  await pool.query(`CREATE INDEX IF NOT EXISTS jobs_claim ON ${schema}.jobs (queue, due_at, seq)`);
  await pool.query(`CREATE INDEX IF NOT EXISTS jobs_seq ON ${schema}.jobs (queue, seq)`);
  const channel = `${schema}_wake`;
  const store = (queue, bodies) =>
    pool.query(
      `WITH i AS (INSERT INTO ${schema}.jobs (queue, id, body)
         SELECT $1, gen_random_uuid(), b FROM unnest($2::text[]) AS b RETURNING 1)
       SELECT pg_notify($3, $1) WHERE EXISTS (SELECT 1 FROM i)`,
      [queue, bodies, channel],
    );
  const batches = new Map();
  const send = (queue, i) => {
    let batch = batches.get(queue);
    if (batch === undefined) {
      batch = groupCommit((bodies) => store(queue, bodies));
      batches.set(queue, batch);
    }
    return batch(JSON.stringify(payload(i)));
  };
  const published = await run.publishing((i) => send(`pub-${run.round}`, i));
  const queue = `e2e-${run.round}`;
  const e2e = await run.endToEnd(
    async (onMessage) => {
      const listener = new pg.Client({ connectionString: url });
      await listener.connect();
      // A notification that lands while a claim is running must not be lost: remember it.
      let pending = false;
      let wake;
      listener.on('notification', () => {
        pending = true;
        wake?.();
      });
      await listener.query(`LISTEN "${channel}"`);
      let stopping = false;
      const loop = (async () => {
        // The DELETE of one batch overlaps the claim of the next, as the driver's acks
        // overlap its claims; one DELETE in flight at a time.
        let deleting = Promise.resolve();
        while (!stopping) {
          pending = false;
          const { rows } = await pool.query(
            `WITH p AS (
               SELECT seq FROM ${schema}.jobs WHERE queue = $1 AND due_at <= now()
               ORDER BY due_at, seq LIMIT ${prefetch} FOR UPDATE SKIP LOCKED)
             UPDATE ${schema}.jobs j SET due_at = now() + interval '30 seconds'
             FROM p WHERE j.queue = $1 AND j.seq = p.seq RETURNING j.seq, j.body`,
            [queue],
          );
          for (const row of rows) onMessage(JSON.parse(row.body).at);
          await deleting;
          if (rows.length > 0) {
            deleting = pool.query(`DELETE FROM ${schema}.jobs WHERE queue = $1 AND seq = ANY($2)`, [
              queue,
              rows.map((r) => r.seq),
            ]);
            // Awaited before the next DELETE; a failure surfaces there.
            deleting.catch(() => {});
          } else if (!pending) {
            await new Promise((resolve) => {
              const timer = setTimeout(resolve, 1000);
              wake = () => {
                clearTimeout(timer);
                resolve();
              };
            });
            wake = undefined;
          }
        }
        await deleting;
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
  return { ...published, ...e2e };
}

async function pgBoss(run) {
  const boss = new PgBoss({ connectionString: url, schema: `${tag}_boss`, max: poolSize });
  boss.on('error', () => {});
  await boss.start();
  const pubQueue = `pub-${run.round}`;
  const e2eQueue = `e2e-${run.round}`;
  await boss.createQueue(pubQueue);
  await boss.createQueue(e2eQueue);
  const published = await run.publishing((i) => boss.send(pubQueue, payload(i)));
  const e2e = await run.endToEnd(
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
  return { ...published, ...e2e };
}

async function cleanup() {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  for (const suffix of ['sluice', 'baseline', 'raw', 'boss']) {
    await client.query(`DROP SCHEMA IF EXISTS ${tag}_${suffix} CASCADE`);
  }
  await client.end();
}

const impls = { sluice: sluiceWith(await load(dist), 'sluice') };
if (baselineDist !== undefined) {
  impls['sluice baseline'] = sluiceWith(await load(baselineDist), 'baseline');
}
if (peers.includes('raw')) impls['raw pg'] = raw;
if (peers.includes('pg-boss')) impls['pg-boss'] = pgBoss;

let results;
try {
  results = await runRounds(impls, settings);
} finally {
  await cleanup();
}
printEngineTable(
  `postgres messaging: ${Object.keys(impls).join(', ')} (pools of ${poolSize})`,
  results,
  settings,
);
