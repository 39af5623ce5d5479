import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { queueWide } from '../../src/messaging/driver.js';
import { openSqliteDriver } from '../../src/messaging/drivers/sqlite/driver.js';
import { connect, type GroupCommitEvent } from '../../src/messaging/index.js';
import { unique, waitFor } from '../conformance/helpers.js';
import { metricValue } from '../support/metrics.js';
import { startChild } from './fixtures/spawn.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-sqlite-'));
const file = () => join(dir, `${unique('db')}.db`);

describe('sqlite driver', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps published messages across a close and reopen, dead letters and stream offsets too', async () => {
    const url = file();
    const first = await connect({ driver: 'sqlite', url });
    await first.queue<string>('orders').publish('kept', { id: 'k1', delay: 5 });
    await first.stream<number>('log').appendBatch([{ payload: 1 }, { payload: 2 }]);
    await first.stream('log').group('g').commit(1);
    await first.close();
    const second = await connect({ driver: 'sqlite', url });
    const seen: string[] = [];
    second.queue<string>('orders').consume((m) => {
      seen.push(`${m.id}:${m.payload}`);
    });
    await waitFor('the stored message', () => seen.length === 1);
    assert.deepEqual(seen, ['k1:kept']);
    assert.equal(await second.stream('log').group('g').committed(), 1);
    assert.equal(await second.stream('log').position('latest'), 2);
    assert.equal((await second.queue('orders').publish('again', { id: 'k1' })).duplicate, true);
    await second.close();
  });

  it('keeps at most maxDeadLetters per queue, dropping the oldest and counting them', async () => {
    const driver = openSqliteDriver(file(), { synchronous: 'normal', maxDeadLetters: 3 });
    const source = { kind: 'queue', queue: unique('capped') } as const;
    const dropped = () =>
      metricValue('sluice_messaging_dead_letters_dropped_total', {
        driver: 'sqlite',
        destination: source.queue,
        group: '',
      });
    try {
      const records = [1, 2, 3, 4, 5].map((n) => ({
        id: `m${n}`,
        dedupe: false,
        key: undefined,
        headers: {},
        body: String(n),
        delayMs: 0,
      }));
      await driver.enqueue(source, records, {
        dedupeWindowMs: 0,
        maxLength: 100,
        overflow: 'reject',
      });
      const { deliveries } = await driver.claim(source, {
        max: 5,
        leaseMs: 30_000,
        orderByKey: false,
      });
      for (const d of deliveries) await driver.deadLetter(source, d.receipt, 'poison');
      const kept = await driver.listDeadLetters(source, 10);
      assert.deepEqual(
        kept.map((d) => d.id),
        ['m3', 'm4', 'm5'],
      );
      assert.equal((await driver.stats(source)).deadLettered, 3);
      assert.equal(await dropped(), 2);
    } finally {
      await driver.close();
    }
    for (const bad of [0, -1, 1.5, 'many']) {
      assert.throws(
        () => openSqliteDriver(file(), { maxDeadLetters: bad as number }),
        /sqlite driver options: maxDeadLetters: expected/,
      );
      await assert.rejects(
        connect({ driver: 'sqlite', url: file(), maxDeadLetters: bad as number }),
        /sqlite driver options: maxDeadLetters: expected/,
      );
    }
  });

  it('commits the publishes of one tick in one transaction, resolving after it', async () => {
    const broker = await connect({ driver: 'sqlite', url: file() });
    const queue = broker.queue<number>('burst');
    const commits: GroupCommitEvent[] = [];
    const listen = (event: unknown) => commits.push(event as GroupCommitEvent);
    subscribe('sluice:messaging:group-commit', listen);
    try {
      await Promise.all(Array.from({ length: 200 }, (_, i) => queue.publish(i)));
    } finally {
      unsubscribe('sluice:messaging:group-commit', listen);
    }
    assert.deepEqual(
      commits.map((c) => c.operations),
      [200],
    );
    assert.equal((await queue.stats()).depth, 200);
    await broker.close();
  });

  it('rolls back only the failing write of a group commit', async () => {
    const broker = await connect({ driver: 'sqlite', url: file() });
    const small = broker.queue<number>('small', { maxLength: 1, overflow: 'reject' });
    const other = broker.queue<number>('other');
    const results = await Promise.allSettled([
      small.publish(1),
      small.publish(2),
      other.publish(3),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.equal((await small.stats()).depth, 1);
    assert.equal((await other.stats()).depth, 1);
    await broker.close();
  });

  it('removes acknowledged rows so the table does not grow', async () => {
    const url = file();
    const broker = await connect({ driver: 'sqlite', url });
    const queue = broker.queue<number>('churn');
    await queue.publishBatch(Array.from({ length: 500 }, (_, i) => ({ payload: i })));
    let done = 0;
    queue.consume(
      () => {
        done++;
      },
      { prefetch: 100, concurrency: 10 },
    );
    await waitFor('all acks', async () => done === 500 && (await queue.stats()).inFlight === 0);
    const raw = new Database(url, { readonly: true });
    assert.equal(raw.prepare('SELECT COUNT(*) FROM sluice_messages').pluck().get(), 0);
    assert.equal(
      raw.prepare("SELECT stored FROM sluice_counts WHERE address = 'q:churn'").pluck().get(),
      0,
    );
    raw.close();
    await broker.close();
  });

  it('shares one file between two connections without delivering a message twice', async () => {
    const url = file();
    const a = await connect({ driver: 'sqlite', url });
    const b = await connect({ driver: 'sqlite', url });
    const seen = new Map<number, number>();
    for (const broker of [a, b]) {
      broker.queue<number>('shared').consume(
        (m) => {
          seen.set(m.payload, (seen.get(m.payload) ?? 0) + 1);
        },
        { prefetch: 10, concurrency: 5 },
      );
    }
    await a
      .queue<number>('shared')
      .publishBatch(Array.from({ length: 400 }, (_, i) => ({ payload: i })));
    await waitFor('every message', () => seen.size === 400);
    await waitFor('acks', async () => (await a.queue('shared').stats()).inFlight === 0);
    assert.ok([...seen.values()].every((n) => n === 1));
    await a.close();
    await b.close();
  });

  it('wakes a consumer in this process when another process publishes, without polling', async () => {
    const url = file();
    const broker = await connect({ driver: 'sqlite', url });
    const seen: number[] = [];
    broker.queue<number>('cross').consume(
      (m) => {
        seen.push(m.payload);
      },
      { pollInterval: 600_000 },
    );
    await waitFor('the consumer', async () => (await broker.queue('cross').stats()).depth === 0);
    await new Promise((r) => setTimeout(r, 20));
    const child = startChild(['publish', url, 'cross', '3']);
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
    await waitFor('the wake-up from the other process', () => seen.length === 3);
    assert.deepEqual(seen, [0, 1, 2]);
    await broker.close();
  });

  it('acks a batch lease by lease, ignoring stale receipts and keeping the count exact', async () => {
    const url = file();
    const driver = openSqliteDriver(url, {});
    const source = { kind: 'queue', queue: 'acks' } as const;
    const options = { dedupeWindowMs: 0, maxLength: 4, overflow: 'reject' } as const;
    const records = [0, 1, 2, 3].map((i) => ({
      id: `m${i}`,
      dedupe: false,
      key: undefined,
      headers: {},
      body: String(i),
      delayMs: 0,
    }));
    await driver.enqueue(source, records, options);
    const first = await driver.claim(source, { max: 4, leaseMs: 30_000, orderByKey: false });
    const [a, b, c, d] = first.deliveries.map((x) => x.receipt);
    await driver.release(source, a!, { delayMs: 0, countAttempt: false });
    const again = await driver.claim(source, { max: 4, leaseMs: 30_000, orderByKey: false });
    assert.deepEqual(
      again.deliveries.map((x) => x.id),
      ['m0'],
    );
    const fresh = again.deliveries[0]!.receipt;
    // a is stale (released, then leased again): it must not remove m0.
    await driver.ack(source, [a!, b!, c!]);
    assert.equal((await driver.stats(source)).inFlight, 2);
    await driver.ack(source, [fresh, d!, b!]);
    assert.deepEqual(await driver.stats(source), {
      depth: 0,
      inFlight: 0,
      delayed: 0,
      oldestAgeMs: 0,
      deadLettered: 0,
      scope: queueWide,
    });
    // The per-queue count went back to zero: the queue takes maxLength messages again.
    await driver.enqueue(source, records, options);
    await assert.rejects(driver.enqueue(source, records.slice(0, 1), options), {
      code: 'SLUICE_QUEUE_FULL',
    });
    await driver.close();
  });

  it('stores a large batch whole, in order, with keys, headers and delays', async () => {
    const broker = await connect({ driver: 'sqlite', url: file() });
    const queue = broker.queue<number>('chunks');
    const count = 70; // two multi-row chunks and a remainder
    await queue.publishBatch(
      Array.from({ length: count }, (_, i) => ({
        payload: i,
        key: i % 3 === 0 ? `k${i % 2}` : undefined,
        headers: i === 40 ? { tenant: 'blue' } : undefined,
        delay: i === 69 ? 20 : undefined,
      })),
    );
    const seen: { payload: number; key: string | undefined; headers: object }[] = [];
    queue.consume(
      (m) => {
        seen.push({ payload: m.payload, key: m.key, headers: { ...m.headers } });
      },
      { prefetch: 100, concurrency: 1 },
    );
    await waitFor('every message', () => seen.length === count);
    assert.deepEqual(
      seen.map((m) => m.payload),
      Array.from({ length: count }, (_, i) => i),
    );
    assert.equal(seen[3]!.key, 'k1');
    assert.equal(seen[4]!.key, undefined);
    assert.equal((seen[40]!.headers as Record<string, string>).tenant, 'blue');
    await broker.close();
  });

  it('rejects a large batch over the bound whole, storing none of it', async () => {
    const broker = await connect({ driver: 'sqlite', url: file() });
    const queue = broker.queue<number>('bounded', { maxLength: 64, overflow: 'reject' });
    await assert.rejects(
      queue.publishBatch(Array.from({ length: 65 }, (_, i) => ({ payload: i }))),
      { code: 'SLUICE_QUEUE_FULL' },
    );
    assert.equal((await queue.stats()).depth, 0);
    await broker.close();
  });

  it('wakes a consumer when another connection in this process publishes', async () => {
    const url = file();
    const a = await connect({ driver: 'sqlite', url });
    const b = await connect({ driver: 'sqlite', url });
    const seen: number[] = [];
    a.queue<number>('near').consume(
      (m) => {
        seen.push(m.payload);
      },
      { pollInterval: 600_000 },
    );
    await waitFor('the consumer', async () => (await a.queue('near').stats()).depth === 0);
    await new Promise((r) => setTimeout(r, 20));
    await b.queue<number>('near').publish(7);
    await waitFor('the wake-up from the other connection', () => seen.length === 1);
    assert.deepEqual(seen, [7]);
    await a.close();
    await b.close();
  });
});
