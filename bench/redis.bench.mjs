// The redis messaging driver beside raw ioredis and BullMQ 6, all on the same local Redis.
// Raw ioredis runs the same Streams work queue by hand: XADD per message; one XREADGROUP
// (COUNT = prefetch) per batch on its own connection; XACK + XDEL of every message, a batch
// at a time, not awaited before the next read (the driver also acks in batches while it keeps
// claiming). Neither waits for fsync or replicas (WAIT): both are as durable as the server's
// own persistence settings. It gets the batching the driver has: auto-pipelining (commands of
// one tick share a write), as the driver's group commit puts concurrent publishes in one
// script call. What the driver does and raw does not: a message id stored with each message;
// the dedupe, length-limit and delayed-message checks on publish; lease tokens, so that a
// stale ack changes nothing; lease renewal; a sweep at least every 100 ms for due retries,
// delayed messages and leases that ran out; the wake-up PUBLISH.
// BullMQ: Queue.add, Worker concurrency 64, jobs removed on completion.
// Run: npm run build (in the package), then from bench/: node redis.bench.mjs [--quick]
// [--rounds N] [--messages N] [--publish-only] [--peers raw,bullmq]
//   SLUICE_DIST=<dir>      use another build of the package
//   SLUICE_BASELINE=<dir>  also run that build, as "sluice baseline", in the same rounds (A/B)
//   REDIS_URL=redis://...  the server; on one nobody else uses, the second table (server CPU
//                          and per-command time per published message) is meaningful
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { engineSettings, payload, printEngineTable, runRounds } from './engine-harness.mjs';
import { median } from './lib.mjs';

const dist = process.env.SLUICE_DIST ?? new URL('../dist', import.meta.url).pathname;
const baselineDist = process.env.SLUICE_BASELINE;

async function load(dir) {
  // Each build defines the same metrics: each gets a registry of its own (some at import).
  delete globalThis[Symbol.for('sluice.metrics.registry')];
  const { connect } = await import(`${dir}/messaging/index.js`);
  const { openRedisDriver } = await import(`${dir}/messaging/drivers/redis/driver.js`);
  return { connect, openRedisDriver };
}

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const settings = engineSettings();
const { prefetch, concurrency } = settings;
const publishOnly = process.argv.includes('--publish-only');
const peersAt = process.argv.indexOf('--peers');
const peers = peersAt < 0 ? ['raw', 'bullmq'] : process.argv[peersAt + 1].split(',');
const prefix = `bench-${process.pid}-${Date.now().toString(36)}`;

/** The server's CPU and per-command time over each publishing phase, per implementation. */
const serverFigures = new Map();
const admin = new Redis(url);

async function serverCounters() {
  const [cpu, commands] = await Promise.all([admin.info('cpu'), admin.info('commandstats')]);
  const seconds = (name) => Number(cpu.match(new RegExp(`${name}:([0-9.]+)`))[1]);
  const usec = new Map();
  for (const [, command, micros] of commands.matchAll(/cmdstat_([^:]+):calls=\d+,usec=(\d+)/g)) {
    usec.set(command, Number(micros));
  }
  return { cpuMicros: (seconds('used_cpu_user') + seconds('used_cpu_sys')) * 1e6, usec };
}

/** Wraps `run.publishing` to record the server's side of each timed publishing phase. */
function watchServer(name, run) {
  const publishing = run.publishing.bind(run);
  run.publishing = async (send) => {
    const before = await serverCounters();
    const figures = await publishing(send);
    const after = await serverCounters();
    if (run.round < 0) return figures;
    const commands = {};
    for (const [command, micros] of after.usec) {
      const spent = micros - (before.usec.get(command) ?? 0);
      if (spent > 0) commands[command] = spent / run.n;
    }
    const list = serverFigures.get(name) ?? [];
    list.push({ cpu: (after.cpuMicros - before.cpuMicros) / run.n, commands });
    serverFigures.set(name, list);
    return figures;
  };
  return run;
}

function sluiceWith(name, build) {
  return async (run) => {
    // Both builds define the same metrics (lazily, on first use): each run gets a registry
    // of its own.
    delete globalThis[Symbol.for('sluice.metrics.registry')];
    watchServer(name, run);
    const driver = await build.openRedisDriver(url, {
      prefix: `${prefix}:${name.replace(/\W+/g, '-')}:`,
    });
    const broker = await build.connect({ driver });
    const queues = { pub: `pub-${run.round}`, e2e: `e2e-${run.round}` };
    let figures;
    if (publishOnly) {
      const queue = broker.queue(queues.pub);
      await queue.publish(payload(-1));
      figures = await run.publishing((i) => queue.publish(payload(i)));
    } else {
      figures = await run.broker(broker, queues);
    }
    await broker.close();
    return figures;
  };
}

async function raw(run) {
  watchServer('raw ioredis', run);
  const client = new Redis(url, { enableAutoPipelining: true });
  const reader = new Redis(url);
  const key = (q) => `${prefix}:raw:${q}-${run.round}`;
  const xadd = (q, i) => client.xadd(key(q), '*', 'b', JSON.stringify(payload(i)));
  const published = await run.publishing((i) => xadd('pub', i));
  if (publishOnly) {
    await Promise.all([client.quit(), reader.quit()]);
    return published;
  }
  const stream = key('e2e');
  await client.xgroup('CREATE', stream, 'g', '0', 'MKSTREAM');
  const e2e = await run.endToEnd(
    async (onMessage) => {
      let stopping = false;
      const acks = [];
      const loop = (async () => {
        while (!stopping) {
          const res = await reader.xreadgroup(
            'GROUP',
            'g',
            'c',
            'COUNT',
            prefetch,
            'BLOCK',
            100,
            'STREAMS',
            stream,
            '>',
          );
          if (res === null) continue;
          const entries = res[0][1];
          for (const [, fields] of entries) onMessage(JSON.parse(fields[1]).at);
          const ids = entries.map(([id]) => id);
          acks.push(
            client
              .multi()
              .xack(stream, 'g', ...ids)
              .xdel(stream, ...ids)
              .exec(),
          );
        }
      })();
      return async () => {
        stopping = true;
        await loop;
        await Promise.all(acks);
      };
    },
    (i) => xadd('e2e', i),
  );
  await client.quit();
  await reader.quit();
  return { ...published, ...e2e };
}

async function bullmq(run) {
  const connection = {
    host: new URL(url).hostname,
    port: Number(new URL(url).port || 6379),
    maxRetriesPerRequest: null,
  };
  const bullPrefix = `${prefix}:bull`;
  const pubQueue = new Queue(`pub-${run.round}`, { connection, prefix: bullPrefix });
  const jobOptions = { removeOnComplete: true, removeOnFail: true };
  watchServer('bullmq', run);
  const published = await run.publishing((i) => pubQueue.add('job', payload(i), jobOptions));
  if (publishOnly) {
    await pubQueue.obliterate({ force: true });
    await pubQueue.close();
    return published;
  }
  const e2eQueue = new Queue(`e2e-${run.round}`, { connection, prefix: bullPrefix });
  const e2e = await run.endToEnd(
    async (onMessage) => {
      const worker = new Worker(`e2e-${run.round}`, async (job) => onMessage(job.data.at), {
        connection,
        prefix: bullPrefix,
        concurrency,
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
  return { ...published, ...e2e };
}

async function cleanup() {
  const client = new Redis(url);
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await client.unlink(...keys);
  } while (cursor !== '0');
  await client.quit();
}

const impls = { sluice: sluiceWith('sluice', await load(dist)) };
if (baselineDist !== undefined) {
  impls['sluice baseline'] = sluiceWith('sluice baseline', await load(baselineDist));
}
if (peers.includes('raw')) impls['raw ioredis'] = raw;
if (peers.includes('bullmq')) impls.bullmq = bullmq;

let results;
try {
  results = await runRounds(impls, settings);
} finally {
  await cleanup();
}
printEngineTable(`redis messaging: ${Object.keys(impls).join(', ')}`, results, settings);
printServerTable();
await admin.quit();

/** Server CPU µs per published message (median of rounds) and the commands that spent it. */
function printServerTable() {
  console.log(`\n## redis server, per published message (${url}; median of rounds)\n`);
  const ours = serverFigures.get('sluice');
  const rows = [['impl', 'server cpu µs/msg', 'sluice÷it', 'command time µs/msg (top 4)']];
  for (const [name, list] of serverFigures) {
    const cpu = median(list.map((r) => r.cpu));
    const names = new Set(list.flatMap((r) => Object.keys(r.commands)));
    const commands = [...names]
      .map((c) => [c, median(list.map((r) => r.commands[c] ?? 0))])
      .sort((a, b) => b[1] - a[1])
      .slice(0, 4)
      .map(([c, v]) => `${c} ${v.toFixed(2)}`)
      .join(', ');
    const ratio = list === ours ? '' : `${(median(ours.map((r) => r.cpu)) / cpu).toFixed(2)}x`;
    rows.push([name, cpu.toFixed(2), ratio, commands]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => String(row[i]).length)));
  for (const row of rows) console.log(row.map((v, i) => String(v).padEnd(widths[i])).join('  '));
  console.log('\nserver cpu counts every client of the server: use one nobody else uses.');
}
