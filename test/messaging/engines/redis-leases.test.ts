// Leases against the horizon: first deliveries on the default lease read with a plain
// XREADGROUP and write nothing; whatever must stay out past the horizon is put back by the
// claim script's sweep. Entries are made to look idle past the horizon with XCLAIM IDLE,
// so no test waits for a real lease to run out.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { isSluiceError } from '../../../src/core/errors.js';
import type { Source } from '../../../src/messaging/driver.js';
import { openRedisDriver, type RedisDriver } from '../../../src/messaging/drivers/redis/driver.js';
import { leaseHorizonMs } from '../../../src/messaging/drivers/redis/lua-prelude.js';
import { requireEngine } from '../../support/engines.js';

await requireEngine('redis');

const url = 'redis://127.0.0.1:6379';
const prefix = `sluice-test:lease-${process.pid}-${Date.now().toString(36)}:`;
const options = { dedupeWindowMs: 0, maxLength: 1000, overflow: 'reject' } as const;
const record = (id: string, extra: { key?: string; delayMs?: number } = {}) => ({
  id,
  dedupe: false,
  key: extra.key,
  headers: {},
  body: JSON.stringify(id),
  delayMs: extra.delayMs ?? 0,
});
const onHorizon = { leaseMs: leaseHorizonMs, orderByKey: false } as const;
let admin: Redis;
let driver: RedisDriver;
/** Sweeps only when a claim finds work due: what it does follows from the data alone. */
let direct: RedisDriver;
/** Runs the claim script on every claim. */
let sweeper: RedisDriver;

/** The last command the driver's command connection ran. */
async function lastCommand(d: RedisDriver): Promise<string> {
  const list = (await admin.client('LIST')) as string;
  const line = list.split('\n').find((l) => l.includes(` name=${d.connectionName}-cmd `));
  return / cmd=(\S+)/.exec(line ?? '')?.[1] ?? '';
}

/** Makes entries look idle past the horizon, as if their lease had run out. */
async function ageOut(source: Source, ids: readonly string[]): Promise<void> {
  const stream = `${driver.keys.box(source)}:s`;
  await admin.xclaim(stream, 'sluice', 'aged', 0, ...ids, 'IDLE', leaseHorizonMs + 1000, 'JUSTID');
}

async function pending(source: Source): Promise<[string, string, number][]> {
  const stream = `${driver.keys.box(source)}:s`;
  return (await admin.xpending(stream, 'sluice', '-', '+', 100)) as [string, string, number][];
}

const entryId = (receipt: string) => receipt.slice(0, receipt.indexOf('|'));

/**
 * Claims with the sweeper until its sweep has looked at the aged entries (XAUTOCLAIM moves
 * them to it; a sweep that found nothing pauses the next for 100 ms), asserting that none
 * of them is delivered.
 */
async function sweepHolds(source: Source) {
  const deadline = Date.now() + 5000;
  for (;;) {
    const result = await sweeper.claim(source, { max: 5, ...onHorizon });
    assert.equal(result.deliveries.length, 0, 'delivered what must stay out');
    if ((await pending(source)).every(([, consumer]) => consumer !== 'aged')) return result;
    assert.ok(Date.now() < deadline, 'no sweep looked at the aged entries');
    await delay(10);
  }
}

/** Claims with the sweeper until something comes back. */
async function claimSome(source: Source) {
  const deadline = Date.now() + 5000;
  for (;;) {
    const { deliveries } = await sweeper.claim(source, { max: 5, ...onHorizon });
    if (deliveries.length > 0 || Date.now() > deadline) return deliveries;
    await delay(10);
  }
}

before(async () => {
  admin = new Redis(url);
  driver = await openRedisDriver(url, { prefix });
  direct = await openRedisDriver(url, { prefix, sweepIntervalMs: 60_000 });
  sweeper = await openRedisDriver(url, { prefix, sweepIntervalMs: 0 });
});
after(async () => {
  await Promise.all([driver.close(), direct.close(), sweeper.close()]);
  const keys = await admin.keys(`${prefix}*`);
  if (keys.length > 0) await admin.unlink(...keys);
  await admin.quit();
});

it('reads first deliveries on the default lease directly, writing nothing per message', async () => {
  const source = { kind: 'queue', queue: 'direct' } as const;
  await direct.enqueue(source, [record('a'), record('b'), record('c')], options);
  const swept = await direct.claim(source, { max: 1, ...onHorizon });
  assert.equal(await lastCommand(direct), 'evalsha', 'the first claim of a box sweeps it');
  const read = await direct.claim(source, { max: 5, ...onHorizon });
  assert.equal(await lastCommand(direct), 'time', 'then it reads with one pipelined XREADGROUP');
  assert.deepEqual(
    [...swept.deliveries, ...read.deliveries].map((d) => [d.id, d.attempt]),
    [
      ['a', 1],
      ['b', 1],
      ['c', 1],
    ],
  );
  const base = direct.keys.box(source);
  assert.equal(await admin.exists(`${base}:a`, `${base}:e`), 0, 'no token or lease written');
  assert.ok(
    (await pending(source)).every(([, , idle]) => idle < 5000),
    'leased for the horizon',
  );
  await direct.ack(
    source,
    read.deliveries.map((d) => d.receipt),
  );
  assert.equal((await pending(source)).length, 1);
});

it('collects a direct read whose lease ran out and redelivers it as attempt 2', async () => {
  const source = { kind: 'queue', queue: 'direct-expired' } as const;
  await direct.enqueue(source, [record('x'), record('y')], options);
  await direct.claim(source, { max: 1, ...onHorizon });
  const { deliveries } = await direct.claim(source, { max: 1, ...onHorizon });
  assert.equal(await lastCommand(direct), 'time');
  await ageOut(source, [entryId(deliveries[0]!.receipt)]);
  assert.deepEqual(
    (await claimSome(source)).map((d) => [d.id, d.attempt]),
    [['y', 2]],
  );
  await direct.ack(source, [deliveries[0]!.receipt]);
  assert.equal((await pending(source)).length, 2, 'the stale receipt acked nothing');
});

it('acks first deliveries and a redelivery in one call, and nothing for stale receipts', async () => {
  const source = { kind: 'queue', queue: 'ack-mixed' } as const;
  await direct.enqueue(source, [record('m1'), record('m2'), record('m3')], options);
  const first = (await direct.claim(source, { max: 3, ...onHorizon })).deliveries;
  await ageOut(source, [entryId(first[0]!.receipt)]);
  const again = await claimSome(source);
  assert.deepEqual(
    again.map((d) => [d.id, d.attempt]),
    [['m1', 2]],
  );
  const receipts = [first[0]!.receipt, first[1]!.receipt, again[0]!.receipt, 'not-a-receipt'];
  await direct.ack(source, receipts);
  assert.deepEqual(
    (await pending(source)).map(([id]) => id),
    [entryId(first[2]!.receipt)],
    'm1 (by its current receipt) and m2 acked; the stale receipt of m1 changed nothing',
  );
  await direct.ack(source, [first[0]!.receipt]);
  assert.equal((await pending(source)).length, 1);
});

it('runs the claim script between sweeps once a delayed message falls due', async () => {
  const source = { kind: 'queue', queue: 'direct-due' } as const;
  await direct.enqueue(source, [record('now')], options);
  await direct.claim(source, { max: 5, ...onHorizon });
  await direct.enqueue(source, [record('soon', { delayMs: 1 }), record('fresh')], options);
  await delay(5);
  const { deliveries } = await direct.claim(source, { max: 5, ...onHorizon });
  assert.deepEqual(
    deliveries.map((d) => d.id),
    ['fresh', 'soon'],
  );
  assert.equal(await lastCommand(direct), 'evalsha');
});

it('tells a direct reader when the next delayed message is due', async () => {
  const source = { kind: 'queue', queue: 'direct-later' } as const;
  await direct.enqueue(source, [record('first')], options);
  await direct.claim(source, { max: 5, ...onHorizon });
  await direct.enqueue(source, [record('later', { delayMs: 10_000 })], options);
  const { deliveries, nextDueAt } = await direct.claim(source, { max: 5, ...onHorizon });
  assert.equal(await lastCommand(direct), 'time');
  assert.equal(deliveries.length, 0);
  assert.ok(nextDueAt !== undefined && nextDueAt > Date.now() + 5000, `due at ${nextDueAt}`);
});

it('keeps a lease longer than the horizon, and redelivers it once that runs out', async () => {
  const source = { kind: 'queue', queue: 'long-lease' } as const;
  await driver.enqueue(source, [record('long')], options);
  const held = await driver.claim(source, { max: 1, leaseMs: 120_000, orderByKey: false });
  const id = entryId(held.deliveries[0]!.receipt);
  const leases = `${driver.keys.box(source)}:e`;
  assert.ok(Number(await admin.zscore(leases, id)) > Date.now() + 60_000);
  await ageOut(source, [id]);
  await sweepHolds(source);
  assert.deepEqual(await driver.extendLease(source, [held.deliveries[0]!.receipt], 120_000), []);
  await admin.zadd(leases, Date.now() - 1, id);
  await ageOut(source, [id]);
  assert.deepEqual(
    (await claimSome(source)).map((d) => [d.id, d.attempt]),
    [['long', 2]],
  );
  assert.equal(await admin.zscore(leases, id), null, 'a lease on the horizon needs no entry');
});

it('keeps a retry backoff longer than the horizon, counting it as delayed', async () => {
  const source = { kind: 'queue', queue: 'long-backoff' } as const;
  await driver.enqueue(source, [record('r')], options);
  const { deliveries } = await driver.claim(source, { max: 1, ...onHorizon });
  await driver.release(source, deliveries[0]!.receipt, { delayMs: 120_000, countAttempt: true });
  await ageOut(source, [entryId(deliveries[0]!.receipt)]);
  const stats = await driver.stats(source);
  assert.deepEqual([stats.depth, stats.inFlight, stats.delayed], [0, 0, 1]);
  const early = await sweepHolds(source);
  assert.ok(early.nextDueAt !== undefined && early.nextDueAt > Date.now() + 60_000);
  const [[, , idle]] = (await pending(source)) as [[string, string, number]];
  assert.ok(idle < 5000, 'put back for another horizon');
});

it('keeps a parked message parked past the horizon until its head is acked', async () => {
  const source = { kind: 'queue', queue: 'long-parked' } as const;
  await driver.enqueue(source, [record('h', { key: 'k' }), record('p', { key: 'k' })], options);
  const ordered = { max: 5, ...onHorizon, orderByKey: true };
  const first = await driver.claim(source, ordered);
  assert.deepEqual(
    first.deliveries.map((d) => d.id),
    ['h'],
  );
  const parked = (await pending(source))
    .map(([id]) => id)
    .filter((id) => id !== entryId(first.deliveries[0]!.receipt));
  await ageOut(source, parked);
  const stats = await driver.stats(source);
  assert.deepEqual([stats.depth, stats.inFlight], [1, 1], 'a parked message has not run out');
  await sweepHolds(source);
  await driver.ack(source, [first.deliveries[0]!.receipt]);
  assert.deepEqual(
    (await driver.claim(source, ordered)).deliveries.map((d) => [d.id, d.attempt]),
    [['p', 1]],
  );
});

it('falls back to the claim script when the stream is gone under a direct reader', async () => {
  const source = { kind: 'queue', queue: 'direct-gone' } as const;
  await direct.enqueue(source, [record('g1')], options);
  await direct.claim(source, { max: 5, ...onHorizon });
  await admin.del(`${direct.keys.box(source)}:s`);
  const empty = await direct.claim(source, { max: 5, ...onHorizon });
  assert.equal(empty.deliveries.length, 0);
  assert.equal(await lastCommand(direct), 'evalsha');
  await direct.enqueue(source, [record('g2')], options);
  assert.deepEqual(
    (await direct.claim(source, { max: 5, ...onHorizon })).deliveries.map((d) => d.id),
    ['g2'],
  );
});

it('hands out what it read when the script after it fails, and reports the failure next', async () => {
  const source = { kind: 'queue', queue: 'direct-failing' } as const;
  const base = direct.keys.box(source);
  await direct.enqueue(source, [record('f1'), record('f2')], options);
  await direct.claim(source, { max: 1, ...onHorizon });
  await direct.enqueue(source, [record('due', { delayMs: 1 })], options);
  await admin.set(`${base}:c`, 'not a hash');
  await delay(5);
  const read = await direct.claim(source, { max: 5, ...onHorizon });
  assert.deepEqual(
    read.deliveries.map((d) => d.id),
    ['f2'],
  );
  await assert.rejects(direct.claim(source, { max: 5, ...onHorizon }), /WRONGTYPE/);
  await admin.del(`${base}:c`);
  assert.deepEqual(
    (await direct.claim(source, { max: 5, ...onHorizon })).deliveries.map((d) => d.id),
    ['due'],
  );
});

it('rejects a sweep interval that is not a number >= 0', async () => {
  for (const sweepIntervalMs of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
    await assert.rejects(openRedisDriver(url, { prefix, sweepIntervalMs }), (e) =>
      isSluiceError(e, 'SLUICE_INVALID_ARGUMENT'),
    );
  }
});
