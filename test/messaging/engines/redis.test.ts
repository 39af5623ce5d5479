import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { isSluiceError } from '../../../src/core/errors.js';
import type { Source } from '../../../src/messaging/driver.js';
import { openRedisDriver, type RedisDriver } from '../../../src/messaging/drivers/redis/driver.js';
import { connect } from '../../../src/messaging/index.js';
import { metricsRegistry } from '../../../src/observe/registry.js';
import { requireEngine } from '../../support/engines.js';
import { metricValue } from '../../support/metrics.js';

await requireEngine('redis');

const url = 'redis://127.0.0.1:6379';
const prefix = `sluice-test:drv-${process.pid}-${Date.now().toString(36)}:`;
const options = { dedupeWindowMs: 60_000, maxLength: 1000, overflow: 'reject' } as const;
const record = (id: string, extra: { key?: string; delayMs?: number } = {}) => ({
  id,
  dedupe: true,
  key: extra.key,
  headers: {},
  body: JSON.stringify(id),
  delayMs: extra.delayMs ?? 0,
});
let admin: Redis;
let driver: RedisDriver;

/** Claims until something comes back (expired leases are swept every 100 ms at most). */
async function claimSome(d: RedisDriver, source: Source, leaseMs = 10_000) {
  const deadline = Date.now() + 5000;
  for (;;) {
    const result = await d.claim(source, { max: 1, leaseMs, orderByKey: false });
    if (result.deliveries.length > 0 || Date.now() > deadline) return result.deliveries;
    await delay(10);
  }
}

before(async () => {
  admin = new Redis(url);
  driver = await openRedisDriver(url, { prefix });
});
after(async () => {
  await driver.close();
  const keys = await admin.keys(`${prefix}*`);
  if (keys.length > 0) await admin.unlink(...keys);
  await admin.quit();
});

it('keeps leases in the consumer group PEL and removes acked entries from the stream', async () => {
  const source = { kind: 'queue', queue: 'pel' } as const;
  await driver.enqueue(source, [record('a'), record('b'), record('c')], options);
  const stream = `${driver.keys.box(source)}:s`;
  assert.equal(await admin.xlen(stream), 3);
  const { deliveries } = await driver.claim(source, { max: 2, leaseMs: 10_000, orderByKey: false });
  assert.deepEqual(
    deliveries.map((d) => d.id),
    ['a', 'b'],
  );
  const [pending] = (await admin.xpending(stream, 'sluice')) as [number];
  assert.equal(pending, 2);
  await driver.ack(
    source,
    deliveries.map((d) => d.receipt),
  );
  assert.equal(((await admin.xpending(stream, 'sluice')) as [number])[0], 0);
  assert.equal(await admin.xlen(stream), 1, 'acked entries are deleted from the stream');
  // A second ack of the same receipts is stale and changes nothing.
  await driver.ack(
    source,
    deliveries.map((d) => d.receipt),
  );
  assert.equal((await driver.stats(source)).depth, 1);
});

it('keeps each lease as the idle time of its PEL entry, collected by XAUTOCLAIM once run out', async () => {
  const source = { kind: 'queue', queue: 'leases' } as const;
  await driver.enqueue(source, [record('p1')], options);
  const stream = `${driver.keys.box(source)}:s`;
  const owner = async () =>
    ((await admin.xpending(stream, 'sluice', '-', '+', 10)) as unknown[][])[0];
  const other = await openRedisDriver(url, { prefix });
  try {
    const first = await other.claim(source, { max: 1, leaseMs: 40, orderByKey: false });
    assert.equal((await owner())?.[1], other.connectionName);
    const early = await driver.claim(source, { max: 1, leaseMs: 10_000, orderByKey: false });
    assert.equal(early.deliveries.length, 0, 'taken before its lease ran out');
    const taken = { deliveries: await claimSome(driver, source) };
    assert.deepEqual(
      taken.deliveries.map((d) => [d.id, d.attempt]),
      [['p1', 2]],
    );
    const [, consumer, , deliveries] = (await owner())!;
    assert.deepEqual([consumer, deliveries], [driver.connectionName, 2]);
    assert.deepEqual(await driver.extendLease(source, [taken.deliveries[0]!.receipt], 10_000), []);
    const stale = first.deliveries[0]!.receipt;
    assert.deepEqual(await other.extendLease(source, [stale], 10_000), [stale]);
  } finally {
    await other.close();
  }
});

it('finds an expired lease behind many live ones, resuming the XAUTOCLAIM scan', async () => {
  const source = { kind: 'queue', queue: 'deep-pel' } as const;
  await driver.enqueue(
    source,
    Array.from({ length: 30 }, (_, i) => record(`d${i}`)),
    options,
  );
  await driver.claim(source, { max: 25, leaseMs: 60_000, orderByKey: false });
  const short = await driver.claim(source, { max: 5, leaseMs: 20, orderByKey: false });
  const found = (await claimSome(driver, source, 60_000)).map((d) => d.id);
  assert.equal(found.length, 1, 'each call looks at only 10 PEL entries: the scan must go on');
  assert.ok(short.deliveries.some((d) => d.id === found[0]));
});

it('leaves the consumer group on close unless it still holds messages', async () => {
  const source = { kind: 'queue', queue: 'leaving' } as const;
  await driver.enqueue(source, [record('l1'), record('l2')], options);
  const stream = `${driver.keys.box(source)}:s`;
  const consumers = async () =>
    ((await admin.xinfo('CONSUMERS', stream, 'sluice')) as string[][]).map((c) => c[1]);
  const tidy = await openRedisDriver(url, { prefix });
  const first = await tidy.claim(source, { max: 1, leaseMs: 10_000, orderByKey: false });
  await tidy.ack(
    source,
    first.deliveries.map((d) => d.receipt),
  );
  const holding = await openRedisDriver(url, { prefix });
  await holding.claim(source, { max: 1, leaseMs: 10_000, orderByKey: false });
  await tidy.close();
  await holding.close();
  const names = await consumers();
  assert.ok(!names.includes(tidy.connectionName), 'an idle consumer stays behind after close');
  assert.ok(
    names.includes(holding.connectionName),
    'a consumer holding a lease must stay in the PEL',
  );
});

it('bounds the dedupe window with an expiring key per producer id', async () => {
  const source = { kind: 'queue', queue: 'dedupe' } as const;
  assert.deepEqual(await driver.enqueue(source, [record('x'), record('x')], options), [
    'stored',
    'duplicate',
  ]);
  const ttl = await admin.pttl(`${driver.keys.box(source)}:dd:x`);
  assert.ok(ttl > 0 && ttl <= 60_000, `ttl ${ttl}`);
  const noWindow = { ...options, dedupeWindowMs: 0 };
  assert.deepEqual(await driver.enqueue(source, [record('x')], noWindow), ['stored']);
});

it('frees the ids of a publish rejected as full, so a retry is not taken for a duplicate', async () => {
  const source = { kind: 'queue', queue: 'full-ids' } as const;
  const one = { ...options, maxLength: 1 };
  await driver.enqueue(source, [record('first')], one);
  await assert.rejects(driver.enqueue(source, [record('retry-me')], one), (e) =>
    isSluiceError(e, 'SLUICE_QUEUE_FULL'),
  );
  const { deliveries } = await driver.claim(source, { max: 1, leaseMs: 10_000, orderByKey: false });
  await driver.ack(
    source,
    deliveries.map((d) => d.receipt),
  );
  assert.deepEqual(await driver.enqueue(source, [record('retry-me')], one), ['stored']);
});

it('holds delayed messages in a sorted set and moves them to the stream when due', async () => {
  const source = { kind: 'queue', queue: 'delayed' } as const;
  await driver.enqueue(source, [record('later', { delayMs: 100 })], options);
  const base = driver.keys.box(source);
  assert.equal(await admin.zcard(`${base}:d`), 1);
  const early = await driver.claim(source, { max: 5, leaseMs: 10_000, orderByKey: false });
  assert.equal(early.deliveries.length, 0);
  assert.ok(early.nextDueAt !== undefined && early.nextDueAt > Date.now() - 5);
  await delay(Math.max(0, early.nextDueAt - Date.now()) + 5);
  const due = await driver.claim(source, { max: 5, leaseMs: 10_000, orderByKey: false });
  assert.deepEqual(
    due.deliveries.map((d) => d.id),
    ['later'],
  );
  assert.equal(await admin.zcard(`${base}:d`), 0);
});

it('parks later messages of a key behind its head until the head is acked', async () => {
  const source = { kind: 'queue', queue: 'keyed' } as const;
  await driver.enqueue(
    source,
    [record('k1', { key: 'a' }), record('k2', { key: 'a' }), record('o', { key: 'b' })],
    options,
  );
  const request = { max: 10, leaseMs: 10_000, orderByKey: true };
  const first = await driver.claim(source, request);
  assert.deepEqual(
    first.deliveries.map((d) => d.id),
    ['k1', 'o'],
  );
  assert.equal((await driver.claim(source, request)).deliveries.length, 0);
  await driver.ack(source, [first.deliveries[0]!.receipt]);
  assert.deepEqual(
    (await driver.claim(source, request)).deliveries.map((d) => d.id),
    ['k2'],
  );
});

it('lets the next message of a key through when a non-ordered consumer finishes its head', async () => {
  const source = { kind: 'queue', queue: 'keyed-mixed' } as const;
  await driver.enqueue(source, [record('h1', { key: 'k' }), record('h2', { key: 'k' })], options);
  const ordered = { max: 10, leaseMs: 30, orderByKey: true };
  assert.deepEqual(
    (await driver.claim(source, ordered)).deliveries.map((d) => d.id),
    ['h1'],
  );
  const taken = await claimSome(driver, source);
  assert.deepEqual(
    taken.map((d) => [d.id, d.attempt]),
    [['h1', 2]],
  );
  await driver.ack(source, [taken[0]!.receipt]);
  assert.deepEqual(
    (await driver.claim(source, ordered)).deliveries.map((d) => d.id),
    ['h2'],
  );
});

it('commits concurrent publishes together, each one whole or not at all', async () => {
  const source = { kind: 'queue', queue: 'grouped' } as const;
  const small = { ...options, maxLength: 3 };
  const calls = Array.from({ length: 6 }, (_, i) =>
    driver.enqueue(source, [record(i === 5 ? 'g0' : `g${i}`)], small),
  );
  const settled = await Promise.allSettled(calls);
  const stored = settled.filter((r) => r.status === 'fulfilled' && r.value[0] === 'stored').length;
  const duplicates = settled.filter(
    (r) => r.status === 'fulfilled' && r.value[0] === 'duplicate',
  ).length;
  const full = settled.filter(
    (r) => r.status === 'rejected' && isSluiceError(r.reason, 'SLUICE_QUEUE_FULL'),
  );
  assert.equal(stored, 3);
  assert.equal(duplicates + full.length, 3);
  assert.equal(duplicates, 1, 'the repeated id g0 is a duplicate of the first');
  assert.equal((await driver.stats(source)).depth, 3);
});

it('fans a topic out to one stream per group, each with its own consumer group', async () => {
  await driver.createGroup('events', 'g1');
  await driver.createGroup('events', 'g2');
  await driver.enqueue({ kind: 'topic', topic: 'events' }, [record('e1')], options);
  for (const group of ['g1', 'g2']) {
    const stream = `${driver.keys.box({ kind: 'subscription', topic: 'events', group })}:s`;
    assert.equal(await admin.xlen(stream), 1);
    const groups = (await admin.xinfo('GROUPS', stream)) as unknown[][];
    assert.equal(groups.length, 1);
  }
});

it('trims logs with XTRIM by count and keeps offsets and committed group offsets', async () => {
  const offsets = await driver.append(
    'log',
    [1, 2, 3, 4].map((n) => ({ id: `l${n}`, key: undefined, headers: {}, body: String(n) })),
    { maxCount: 2 },
  );
  assert.deepEqual(offsets, [offsets[0]!, offsets[0]! + 1, offsets[0]! + 2, offsets[0]! + 3]);
  assert.equal(await admin.xlen(`${driver.keys.log('log')}:s`), 2);
  assert.equal(await driver.resolvePosition('log', 'earliest'), offsets[2]);
  assert.equal(await driver.resolvePosition('log', 'latest'), offsets[3]! + 1);
  await driver.commitOffset('log', 'reader', offsets[3]!);
  assert.equal(await driver.committedOffset('log', 'reader'), offsets[3]);
  assert.equal(await driver.committedOffset('log', 'nobody'), undefined);
});

it('keeps its keys under its prefix, apart from another prefix on the same Redis', async () => {
  const other = await openRedisDriver(url, { prefix: `${prefix}other:` });
  try {
    const source = { kind: 'queue', queue: 'shared-name' } as const;
    await driver.enqueue(source, [record('mine')], options);
    assert.equal((await other.stats(source)).depth, 0);
    assert.equal((await driver.stats(source)).depth, 1);
  } finally {
    await other.close();
  }
});

it('exports connection state and consumer lag under the names every driver uses', async () => {
  const broker = await connect({ driver: await openRedisDriver(url, { prefix: `${prefix}m:` }) });
  try {
    const queue = broker.queue<number>('lag');
    await queue.publishBatch([1, 2, 3].map((payload) => ({ payload })));
    const labels = { driver: 'redis', destination: 'lag' };
    assert.equal(await metricValue('sluice_messaging_consumer_lag', labels), 3);
    assert.equal(await metricValue('sluice_messaging_published_total', labels), 3);
    const command = { driver: 'redis', connection: 'command' };
    assert.ok((await metricValue('sluice_messaging_connected', command)) >= 1);
    const text = await metricsRegistry().metrics();
    // From the connection's creation, before any reconnect.
    assert.match(
      text,
      /^sluice_messaging_reconnects_total\{driver="redis",connection="command"\} \d+$/m,
    );
  } finally {
    await broker.close();
  }
});

it('rejects a bad url or an unreachable server, and calls after close with SLUICE_CLOSED', async () => {
  await assert.rejects(
    openRedisDriver('redis://127.0.0.1:1', { redis: { retryStrategy: () => null } }),
  );
  await assert.rejects(
    openRedisDriver(url, { redis: { keyPrefix: 'x:' } }),
    /not the ioredis keyPrefix/,
  );
  await assert.rejects(openRedisDriver('localhost:6379'), (e) =>
    isSluiceError(e, 'SLUICE_INVALID_ARGUMENT'),
  );
  const closing = await openRedisDriver(url, { prefix });
  await closing.close();
  await assert.rejects(closing.stats({ kind: 'queue', queue: 'x' }), (e) =>
    isSluiceError(e, 'SLUICE_CLOSED'),
  );
});
