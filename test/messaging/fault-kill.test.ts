import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { connect, idempotent, sqliteIdempotencyStore } from '../../src/messaging/index.js';
import { waitFor } from '../conformance/helpers.js';
import { prepareApp, recordDelivery } from './fixtures/app-db.js';
import { startChild } from './fixtures/spawn.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-fault-'));

describe('fault: a consumer process SIGKILLed mid-batch', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('loses nothing, and with idempotent() applies every effect exactly once', async () => {
    const brokerPath = join(dir, 'broker.db');
    const appPath = join(dir, 'app.db');
    const broker = await connect({ driver: 'sqlite', url: brokerPath, synchronous: 'normal' });
    const queue = broker.queue<number>('jobs');
    const n = 3000;
    for (let i = 0; i < n; i += 500) {
      await queue.publishBatch(
        Array.from({ length: 500 }, (_, j) => ({ payload: i + j, id: `job-${i + j}` })),
      );
    }
    const app = new Database(appPath);
    prepareApp(app);
    const count = (sql: string, ...args: unknown[]) =>
      app
        .prepare(sql)
        .pluck()
        .get(...args) as number;

    // The survivor: same handler as the children, slower, so the children always have work.
    const store = sqliteIdempotencyStore(app);
    queue.consume(
      idempotent<number, Database.Database>(
        async (m, { transaction }) => {
          recordDelivery(app, m.id);
          await new Promise((r) => setTimeout(r, 5));
          await transaction((tx) => tx.prepare('INSERT INTO effects (msg) VALUES (?)').run(m.id));
        },
        { store },
      ),
      { prefetch: 2, concurrency: 1, leaseTimeout: 300, pollInterval: 50 },
    );

    let kills = 0;
    for (let round = 0; round < 5 && (await queue.stats()).depth > 500; round++) {
      const child = startChild(['consume', brokerPath, appPath, 'jobs']);
      await once(child, 'message');
      const before = count('SELECT COUNT(*) FROM deliveries WHERE pid = ?', child.pid);
      await waitFor(
        'the child to get going',
        () => count('SELECT COUNT(*) FROM deliveries WHERE pid = ?', child.pid) >= before + 100,
        { timeoutMs: 30_000 },
      );
      child.kill('SIGKILL');
      await once(child, 'exit');
      kills++;
    }
    assert.ok(kills >= 2, `only ${kills} kills before the queue drained`);

    await waitFor(
      'every message to be acked',
      async () => {
        const s = await queue.stats();
        return s.depth + s.inFlight + s.delayed === 0;
      },
      { timeoutMs: 60_000 },
    );
    assert.equal(count('SELECT COUNT(DISTINCT msg) FROM deliveries'), n, 'a message was lost');
    assert.ok(count('SELECT COUNT(*) FROM deliveries') > n, 'no kill landed mid-batch');
    assert.equal(count('SELECT COUNT(*) FROM effects'), n, 'an effect happened twice');
    assert.equal(count('SELECT COUNT(DISTINCT msg) FROM effects'), n);
    assert.equal((await queue.stats()).deadLettered, 0);
    await broker.close();
    const raw = new Database(brokerPath);
    assert.equal(raw.prepare('SELECT COUNT(*) FROM sluice_messages').pluck().get(), 0);
    raw.close();
    app.close();
  });
});
