// A consumer process SIGKILLed mid-batch loses nothing: its leased messages come back once
// their leases expire. Run by the test runner, this file is the parent; spawned with
// SLUICE_REDIS_CHILD set, it is the consumer that gets killed.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { openRedisDriver } from '../../../src/messaging/drivers/redis/driver.js';
import { connect } from '../../../src/messaging/index.js';
import { requireEngine } from '../../support/engines.js';
import { waitFor } from '../../support/wait-for.js';

const url = 'redis://127.0.0.1:6379';
const child = process.env.SLUICE_REDIS_CHILD;

/** Handles messages slowly, recording each handling (payload -> count, and the highest attempt). */
async function consumeAndRecord(
  prefix: string,
  queue: string,
  leaseTimeout: number,
): Promise<() => Promise<void>> {
  const recorder = new Redis(url);
  const broker = await connect({ driver: await openRedisDriver(url, { prefix }) });
  broker.queue<number>(queue).consume(
    async (m) => {
      await delay(5);
      await recorder
        .multi()
        .hincrby(`${prefix}done`, String(m.payload), 1)
        .zadd(`${prefix}attempts`, 'GT', m.attempt, String(m.payload))
        .exec();
    },
    { prefetch: 16, concurrency: 4, leaseTimeout },
  );
  return async () => {
    await broker.close({ drainTimeout: 1000 });
    await recorder.quit();
  };
}

if (child !== undefined) {
  const [prefix, queue] = child.split(' ');
  await consumeAndRecord(prefix!, queue!, 800);
} else {
  await requireEngine('redis');

  it('loses nothing when consumer processes are SIGKILLed mid-batch', async () => {
    const prefix = `sluice-test:kill-${process.pid}-${Date.now().toString(36)}:`;
    const queue = 'jobs';
    const admin = new Redis(url);
    const n = 400;
    const producer = await connect({ driver: await openRedisDriver(url, { prefix }) });
    const jobs = producer.queue<number>(queue);
    await jobs.publishBatch(Array.from({ length: n }, (_, i) => ({ payload: i })));
    const handled = async () => admin.hlen(`${prefix}done`);
    const spawnConsumer = (): ChildProcess =>
      spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
        env: { ...process.env, SLUICE_REDIS_CHILD: `${prefix} ${queue}` },
        stdio: 'inherit',
      });
    let stopSurvivor: (() => Promise<void>) | undefined;
    try {
      for (const threshold of [40, 140]) {
        const victim = spawnConsumer();
        await waitFor(`${threshold} handled`, async () => (await handled()) >= threshold, {
          timeoutMs: 60_000,
        });
        const held = (await jobs.stats()).inFlight;
        victim.kill('SIGKILL');
        await new Promise((resolve) => victim.once('exit', resolve));
        assert.ok(held > 0, 'the victim held no leases when it was killed');
      }
      const before = await handled();
      assert.ok(before < n, 'the victims finished everything: nothing was killed mid-batch');
      stopSurvivor = await consumeAndRecord(prefix, queue, 800);
      await waitFor(
        'every message handled and acked',
        async () => {
          const s = await jobs.stats();
          return (await handled()) === n && s.depth + s.inFlight + s.delayed === 0;
        },
        { timeoutMs: 60_000 },
      );
      const counts = await admin.hvals(`${prefix}done`);
      assert.equal(counts.length, n);
      const redelivered = await admin.zcount(`${prefix}attempts`, 2, '+inf');
      assert.ok(redelivered > 0, 'no message was redelivered after its lease expired');
      assert.equal((await jobs.stats()).deadLettered, 0);
    } finally {
      await stopSurvivor?.();
      await producer.close();
      const keys = await admin.keys(`${prefix}*`);
      if (keys.length > 0) await admin.unlink(...keys);
      await admin.quit();
    }
  });
}
