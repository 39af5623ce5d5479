// A consumer process SIGKILLed mid-batch loses nothing: what it held comes back once the
// consumer's ack_wait runs out. Run by the test runner, this file is the parent; spawned
// with SLUICE_NATS_CHILD set, it is the consumer that gets killed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { openNatsDriver } from '../../../src/messaging/drivers/nats/driver.js';
import { connect } from '../../../src/messaging/index.js';
import { requireEngine } from '../../support/engines.js';
import { waitFor } from '../../support/wait-for.js';

const url = 'nats://127.0.0.1:4222';
const ackWait = 1000;
const child = process.env.SLUICE_NATS_CHILD;

if (child !== undefined) {
  // The victim: handles slowly, printing each payload it finished (not yet acked).
  const [prefix, queue] = child.split(' ');
  const broker = await connect({ driver: await openNatsDriver(url, { prefix: prefix!, ackWait }) });
  broker.queue<number>(queue!).consume(
    async (m) => {
      await delay(5);
      process.stdout.write(`${m.payload}\n`);
    },
    { prefetch: 24, concurrency: 4, leaseTimeout: 60_000 },
  );
} else {
  await requireEngine('nats');

  it('loses nothing when a consumer process is SIGKILLed mid-batch', async () => {
    const prefix = `kill${process.pid}x${Date.now().toString(36)}`;
    const queue = 'jobs';
    const driver = await openNatsDriver(url, { prefix, ackWait });
    const broker = await connect({ driver });
    try {
      const n = 300;
      const jobs = broker.queue<number>(queue);
      await jobs.publishBatch(
        Array.from({ length: n }, (_, i) => ({ payload: i, id: `job-${i}` })),
      );

      const seen = new Map<number, number>();
      const victim = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
        env: { ...process.env, SLUICE_NATS_CHILD: `${prefix} ${queue}` },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const exited = new Promise<NodeJS.Signals | null>((resolve) =>
        victim.once('exit', (_c, s) => resolve(s)),
      );
      createInterface({ input: victim.stdout! }).on('line', (line) => {
        const payload = Number(line);
        seen.set(payload, (seen.get(payload) ?? 0) + 1);
      });
      await waitFor('the victim to get going', () => seen.size >= 40);
      // Mid-batch: it holds a prefetch of leased, unacknowledged messages right now.
      const inFlight = (await jobs.stats()).inFlight;
      victim.kill('SIGKILL');
      assert.equal(await exited, 'SIGKILL');
      assert.ok(inFlight > 0, 'the victim held nothing when killed');

      const attempts = new Map<number, number>();
      jobs.consume(
        (m) => {
          seen.set(m.payload, (seen.get(m.payload) ?? 0) + 1);
          attempts.set(m.payload, Math.max(attempts.get(m.payload) ?? 0, m.attempt));
        },
        { prefetch: 32, concurrency: 4, pollInterval: 50 },
      );
      await waitFor('every message handled', () => seen.size === n);
      await waitFor('the queue to empty', async () => {
        const s = await jobs.stats();
        return s.depth + s.inFlight + s.delayed === 0;
      });
      assert.deepEqual(
        [...seen.keys()].sort((a, b) => a - b),
        Array.from({ length: n }, (_, i) => i),
      );
      // What the victim held when it died came back as a second attempt, not as a loss.
      const redelivered = [...attempts.values()].filter((a) => a >= 2).length;
      assert.ok(redelivered > 0, 'nothing the victim held was redelivered');
      assert.equal((await jobs.stats()).deadLettered, 0);
    } finally {
      await broker.close({ drainTimeout: 1000 });
      const admin = await openNatsDriver(url, { prefix });
      await admin.dropAll();
      await admin.close();
    }
  });
}
