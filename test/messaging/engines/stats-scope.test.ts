// stats() read by a monitor that holds nothing, while a consumer elsewhere holds messages:
// every figure marked `queue` must count the consumer's messages too, and a figure that
// cannot (RabbitMQ's in-flight count over AMQP) must say `local`, never pass for whole.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { Redis } from 'ioredis';
import pg from 'pg';
import { lagOf, type MessagingDriver, type QueueStats } from '../../../src/messaging/driver.js';
import { openNatsDriver } from '../../../src/messaging/drivers/nats/driver.js';
import { openPostgresDriver } from '../../../src/messaging/drivers/postgres/driver.js';
import { openRabbitDriver } from '../../../src/messaging/drivers/rabbitmq/driver.js';
import { openRedisDriver } from '../../../src/messaging/drivers/redis/driver.js';
import { openSqliteDriver } from '../../../src/messaging/drivers/sqlite/driver.js';
import { type Broker, connect } from '../../../src/messaging/index.js';
import { metricsRegistry } from '../../../src/observe/registry.js';
import { gate, waitFor } from '../../conformance/helpers.js';
import { type Engine, requireEngine } from '../../support/engines.js';
import { dropPrefix, rabbitUrl } from './rabbitmq-support.js';

const tag = `stats${process.pid}x${Date.now().toString(36)}`;
const pgUrl = process.env.SLUICE_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const redisUrl = 'redis://127.0.0.1:6379';

interface Setup {
  readonly engine?: Engine;
  /** Opens a driver on the same data each time it is called. */
  open(): Promise<MessagingDriver>;
  drop(): Promise<void>;
}

const dir = mkdtempSync(join(tmpdir(), 'sluice-stats-scope-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const setups: Record<string, Setup> = {
  sqlite: {
    open: async () => openSqliteDriver(join(dir, 'shared.db'), { synchronous: 'normal' }),
    async drop() {
      for (const file of ['shared.db', 'shared.db-wal', 'shared.db-shm']) {
        rmSync(join(dir, file), { force: true });
      }
    },
  },
  postgres: {
    engine: 'postgres',
    open: () => openPostgresDriver(pgUrl, { schema: `sluice_${tag}` }),
    async drop() {
      const client = new pg.Client({ connectionString: pgUrl });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "sluice_${tag}" CASCADE`);
      await client.end();
    },
  },
  redis: {
    engine: 'redis',
    open: () => openRedisDriver(redisUrl, { prefix: `sluice-test:${tag}:` }),
    async drop() {
      const admin = new Redis(redisUrl);
      const keys = await admin.keys(`sluice-test:${tag}:*`);
      if (keys.length > 0) await admin.unlink(...keys);
      await admin.quit();
    },
  },
  nats: {
    engine: 'nats',
    open: () => openNatsDriver('nats://127.0.0.1:4222', { prefix: tag }),
    async drop() {
      const admin = await openNatsDriver('nats://127.0.0.1:4222', { prefix: tag });
      await admin.dropAll();
      await admin.close();
    },
  },
  rabbitmq: {
    engine: 'rabbitmq',
    open: () => openRabbitDriver(rabbitUrl, { prefix: tag }),
    drop: () => dropPrefix(tag),
  },
};

for (const [name, setup] of Object.entries(setups)) {
  it(`${name}: a figure marked "queue" counts what other consumers hold`, async () => {
    if (setup.engine !== undefined) await requireEngine(setup.engine);
    const worker = await connect({ driver: await setup.open() });
    const monitor = await connect({ driver: await setup.open() });
    const release = gate();
    try {
      const held = 3;
      await worker
        .queue<number>('jobs')
        .publishBatch([1, 2, 3, 4, 5].map((payload) => ({ payload })));
      let running = 0;
      worker.queue<number>('jobs').consume(
        async () => {
          running++;
          await release.promise;
        },
        { prefetch: held, concurrency: held },
      );
      await waitFor('the worker to hold its messages', () => running === held);
      const seen = await monitor.queue<number>('jobs').stats();
      const own = await worker.queue<number>('jobs').stats();
      assert.equal(seen.depth, 2);
      assert.equal(seen.scope.depth, 'queue');
      assert.equal(own.inFlight, held);
      if (seen.scope.inFlight === 'queue') assert.equal(seen.inFlight, held);
      else assert.equal(seen.inFlight, 0, 'a local figure counts only the monitor itself');
      if (seen.scope.oldestAgeMs === 'queue') assert.ok(seen.oldestAgeMs >= 0);
      assert.equal(seen.scope.deadLettered, 'queue');
      assert.deepEqual(seen.scope, own.scope);
    } finally {
      release.open();
      await worker.close({ drainTimeout: 1000 });
      await monitor.close({ drainTimeout: 1000 });
      await setup.drop();
    }
  });
}

/**
 * A worker holds three messages or four, has one waiting for a retry a minute away, and
 * leaves the rest ready: all six are unfinished. On one queue and on one topic group.
 */
async function holdSix(
  worker: Broker,
  where: 'queue' | 'group',
  release: Promise<void>,
): Promise<void> {
  const threeRunning = gate();
  let running = 0;
  let failed = false;
  const handler = async (m: { payload: number }) => {
    if (m.payload === 1 && !failed) {
      // Fails once three others run, so the worker holds them as it retries this one.
      await threeRunning.promise;
      failed = true;
      throw new Error('retry me later');
    }
    if (++running === 3) threeRunning.open();
    await release;
  };
  const options = { prefetch: 4, concurrency: 4, retry: () => 60_000 };
  const payloads = [1, 2, 3, 4, 5, 6].map((payload) => ({ payload }));
  if (where === 'queue') {
    await worker.queue<number>('lag-jobs').publishBatch(payloads);
    worker.queue<number>('lag-jobs').consume(handler, options);
  } else {
    await worker.topic<number>('lag-events').subscribe('billing', handler, options);
    await worker.topic<number>('lag-events').publishBatch(payloads);
  }
  await waitFor('the worker to hold three', () => failed);
}

/** The exported consumer lag of a series, or undefined when the series is left out. */
async function exportedLag(driver: string, destination: string, group: string) {
  const text = await metricsRegistry().metrics();
  const head = `sluice_messaging_consumer_lag{driver="${driver}",destination="${destination}",group="${group}"} `;
  const line = text.split('\n').find((l) => l.startsWith(head));
  return line === undefined ? undefined : Number(line.slice(head.length));
}

for (const [name, setup] of Object.entries(setups)) {
  it(`${name}: the lag of a queue, a topic group and a stream group counts what other consumers hold or delay`, async () => {
    if (setup.engine !== undefined) await requireEngine(setup.engine);
    const worker = await connect({ driver: await setup.open() });
    const monitor = await connect({ driver: await setup.open() });
    const release = gate();
    try {
      const cases = [
        { where: 'queue', destination: 'lag-jobs', group: '' },
        { where: 'group', destination: 'lag-events', group: 'billing' },
      ] as const;
      for (const { where, destination, group } of cases) {
        await holdSix(worker, where, release.promise);
        const stats = (broker: Broker): Promise<QueueStats> =>
          where === 'queue'
            ? broker.queue(destination).stats()
            : broker.topic(destination).stats(group);
        await waitFor('the retry to wait', async () => (await stats(worker)).delayed === 1);
        const own = await stats(worker);
        assert.ok(
          own.inFlight >= 3 && own.depth >= 1,
          `in flight and ready: ${own.inFlight}, ${own.depth}`,
        );
        const seen = lagOf(await stats(monitor));
        if (name === 'rabbitmq') {
          // AMQP 0-9-1 counts only ready messages; what consumers hold is theirs to know.
          assert.equal(seen.scope, 'local');
          assert.equal(seen.lag, own.depth);
          assert.equal(await exportedLag(name, destination, group), undefined);
        } else {
          assert.deepEqual(seen, { lag: 6, scope: 'queue' });
          assert.equal(await exportedLag(name, destination, group), 6);
        }
        assert.deepEqual(lagOf(own), { lag: 6, scope: seen.scope });
      }
      if (worker.capabilities.streams) {
        // A stream group's lag: the entries after the offset it committed, whoever did.
        const log = worker.stream<number>('lag-log');
        await log.appendBatch([1, 2, 3].map((payload) => ({ payload })));
        const audit = log.group('audit');
        await audit.commit((await audit.read({ limit: 1 }))[0]!.offset + 1);
        monitor.stream<number>('lag-log').group('audit');
        assert.equal(await exportedLag(name, 'lag-log', 'audit'), 2);
      }
    } finally {
      release.open();
      await worker.close({ drainTimeout: 1000 });
      await monitor.close({ drainTimeout: 1000 });
      await setup.drop();
    }
  });
}
