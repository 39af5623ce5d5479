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
// [--rounds N] [--messages N]   (SLUICE_DIST=<dir> to use another build of the package)
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { engineSettings, payload, printEngineTable, runRounds } from './engine-harness.mjs';

const dist = process.env.SLUICE_DIST ?? new URL('../dist', import.meta.url).pathname;
const { connect } = await import(`${dist}/messaging/index.js`);
const { openRedisDriver } = await import(`${dist}/messaging/drivers/redis/driver.js`);

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const settings = engineSettings();
const { prefetch, concurrency } = settings;
const prefix = `bench-${process.pid}-${Date.now().toString(36)}`;

async function sluice(run) {
  const broker = await connect({ driver: await openRedisDriver(url, { prefix: `${prefix}:` }) });
  const figures = await run.broker(broker, { pub: `pub-${run.round}`, e2e: `e2e-${run.round}` });
  await broker.close();
  return figures;
}

async function raw(run) {
  const client = new Redis(url, { enableAutoPipelining: true });
  const reader = new Redis(url);
  const key = (q) => `${prefix}:raw:${q}-${run.round}`;
  const xadd = (q, i) => client.xadd(key(q), '*', 'b', JSON.stringify(payload(i)));
  const published = await run.publishing((i) => xadd('pub', i));
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
  const published = await run.publishing((i) => pubQueue.add('job', payload(i), jobOptions));
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

let results;
try {
  results = await runRounds({ sluice, 'raw ioredis': raw, bullmq }, settings);
} finally {
  await cleanup();
}
printEngineTable('redis messaging: sluice, raw ioredis, BullMQ', results, settings);
