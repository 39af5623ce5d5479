// A consumer process SIGKILLed mid-batch loses nothing: the broker requeues what its
// connection held. Run by the test runner, this file is the parent; spawned with
// SLUICE_RABBIT_CHILD set, it is the consumer that gets killed.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { openRabbitDriver } from '../../../src/messaging/drivers/rabbitmq/driver.js';
import { connect } from '../../../src/messaging/index.js';
import { requireEngine } from '../../support/engines.js';
import { waitFor } from '../../support/wait-for.js';
import { dropPrefix } from './rabbitmq-support.js';

const url = 'amqp://guest:guest@127.0.0.1:5672';
const child = process.env.SLUICE_RABBIT_CHILD;

/** Handles messages slowly, appending "payload attempt" per handling to `log`. */
async function consumeAndRecord(prefix: string, queue: string, log: string) {
  const broker = await connect({ driver: await openRabbitDriver(url, { prefix }) });
  broker.queue<number>(queue).consume(
    async (m) => {
      await delay(5);
      appendFileSync(log, `${m.payload} ${m.attempt}\n`);
    },
    { prefetch: 16, concurrency: 4 },
  );
  return () => broker.close({ drainTimeout: 1000 });
}

function handlings(log: string): [number, number][] {
  let text = '';
  try {
    text = readFileSync(log, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => line.split(' ').map(Number) as [number, number]);
}

if (child !== undefined) {
  const [prefix, queue, log] = child.split(' ');
  await consumeAndRecord(prefix!, queue!, log!);
} else {
  await requireEngine('rabbitmq');

  it('loses nothing when consumer processes are SIGKILLed mid-batch', async () => {
    const prefix = `sluice-test-kill-${process.pid}-${Date.now().toString(36)}`;
    const queue = 'jobs';
    const dir = mkdtempSync(join(tmpdir(), 'sluice-rabbit-kill-'));
    const log = join(dir, 'handled.log');
    const n = 400;
    const producer = await connect({ driver: await openRabbitDriver(url, { prefix }) });
    const jobs = producer.queue<number>(queue);
    await jobs.publishBatch(Array.from({ length: n }, (_, i) => ({ payload: i })));
    const distinct = () => new Set(handlings(log).map(([p]) => p)).size;
    const spawnConsumer = (): ChildProcess =>
      spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
        env: { ...process.env, SLUICE_RABBIT_CHILD: `${prefix} ${queue} ${log}` },
        stdio: 'inherit',
      });
    let stopSurvivor: (() => Promise<void>) | undefined;
    try {
      for (const threshold of [40, 140]) {
        const victim = spawnConsumer();
        await waitFor(`${threshold} handled`, () => handlings(log).length >= threshold, {
          timeoutMs: 60_000,
        });
        victim.kill('SIGKILL');
        await new Promise((resolve) => victim.once('exit', resolve));
      }
      assert.ok(distinct() < n, 'the victims finished everything: nothing was killed mid-batch');
      stopSurvivor = await consumeAndRecord(prefix, queue, log);
      await waitFor(
        'every message handled and acked',
        async () => {
          const s = await jobs.stats();
          return distinct() === n && s.depth + s.inFlight + s.delayed === 0;
        },
        { timeoutMs: 60_000 },
      );
      assert.equal(distinct(), n);
      const redelivered = handlings(log).filter(([, attempt]) => attempt >= 2).length;
      assert.ok(redelivered > 0, 'nothing the victims held came back as a redelivery');
      assert.equal((await jobs.stats()).deadLettered, 0);
    } finally {
      await stopSurvivor?.();
      await producer.close({ drainTimeout: 1000 });
      await dropPrefix(prefix);
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
