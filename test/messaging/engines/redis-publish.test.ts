import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { Redis } from 'ioredis';
import { isSluiceError } from '../../../src/core/errors.js';
import type {
  EnqueueOptions,
  OutgoingRecord,
  Source,
  Target,
} from '../../../src/messaging/driver.js';
import { openRedisDriver, type RedisDriver } from '../../../src/messaging/drivers/redis/driver.js';
import {
  callArgs,
  EnqueueHeads,
  outcomesOf,
} from '../../../src/messaging/drivers/redis/enqueue-args.js';
import { Keys } from '../../../src/messaging/drivers/redis/keys.js';
import { messageId, packMessage } from '../../../src/messaging/drivers/redis/records.js';
import { requireEngine } from '../../support/engines.js';

await requireEngine('redis');

// The publish path: runs of plain batches (no producer id to check, no key, no delay) are
// stored by the enqueue script in one go when they fit, batch by batch when they do not.
// They pack a message's id and body into one field (m); other publishes, and every entry an
// earlier version stored, carry them apart (i and b): entries and dead letters in the
// earlier format, as an upgrading user has them, are delivered, dead-lettered and replayed
// with nothing lost.

const url = 'redis://127.0.0.1:6379';
const prefix = `sluice-test:pub-${process.pid}-${Date.now().toString(36)}:`;
const options: EnqueueOptions = { dedupeWindowMs: 60_000, maxLength: 1000, overflow: 'reject' };
const plain = (id: string, headers: Record<string, string> = {}): OutgoingRecord => ({
  id,
  dedupe: false,
  key: undefined,
  headers,
  body: JSON.stringify(id),
  delayMs: 0,
});
const checked = (id: string): OutgoingRecord => ({ ...plain(id), dedupe: true });
const message = (id: string, body: string): OutgoingRecord => ({ ...plain(id), body });
const lease = { leaseMs: 10_000, orderByKey: false } as const;
let admin: Redis;
let driver: RedisDriver;

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

/** The ids in the stream of a box, oldest first. */
async function streamIds(source: Source): Promise<string[]> {
  const entries = await admin.xrange(`${driver.keys.box(source)}:s`, '-', '+');
  return entries.map(([, fields]) => messageId(fields));
}

/**
 * Publishes `first`, then every batch of `waiting`, all in one turn of the event loop: the
 * driver gathers them into one call.
 */
async function inOneCall(
  target: Target,
  first: OutgoingRecord[],
  waiting: OutgoingRecord[][],
  o = options,
) {
  const alone = driver.enqueue(target, first, o);
  const together = waiting.map((batch) => driver.enqueue(target, batch, o));
  return Promise.allSettled([alone, ...together]);
}

it('lays out runs of plain batches apart from batches that need checks', () => {
  const head = new EnqueueHeads(new Keys('p:')).of({ kind: 'queue', queue: 'q' }, options);
  const args = callArgs(head, [
    [plain('a'), plain('b', { traceparent: 't' })],
    [plain('c')],
    [checked('d')],
    [plain('e')],
  ]);
  // biome-ignore format: one line per run or batch
  assert.deepEqual(args.slice(6), [
    'h', 2, 3, 2, 1, '', '1:a"a"', '{"traceparent":"t"}', '1:b"b"', '', '1:c"c"',
    'f', 1, 'd', 1, '', '', '"d"', 0,
    'p', 1, 1, 1, '1:e"e"',
  ]);
  assert.equal(
    new EnqueueHeads(new Keys('p:')).of({ kind: 'queue', queue: 'q' }, options).lane,
    head.lane,
    'the same target and limits share a lane',
  );
});

it('reads the reply per batch: all stored, per record, queue full, or an error', () => {
  const batches = [
    [plain('a'), plain('b')],
    [checked('c'), checked('d')],
    [plain('e')],
    [plain('f')],
  ];
  const [all, each, full, odd] = outcomesOf(
    [1, [1, 0], 'SLUICE_QUEUE_FULL queue holds 3 of at most 3 messages', [1, 1]],
    batches,
  );
  assert.deepEqual(all, ['stored', 'stored']);
  assert.deepEqual(each, ['stored', 'duplicate']);
  assert.ok(isSluiceError(full, 'SLUICE_QUEUE_FULL'));
  assert.match(String(full), /holds 3 of at most 3/);
  assert.ok(odd instanceof Error && !isSluiceError(odd), 'two outcomes for one record');
  const [missing] = outcomesOf('not a list', [[plain('x')]]);
  assert.ok(missing instanceof Error);
});

it('stores concurrent plain publishes in order, with their headers', async () => {
  const source = { kind: 'queue', queue: 'plain' } as const;
  const settled = await inOneCall(
    source,
    [plain('p0')],
    [[plain('p1'), plain('p2')], [plain('p3', { traceparent: '00-abc-def-01' })], [plain('p4')]],
  );
  assert.deepEqual(
    settled.map((s) => (s.status === 'fulfilled' ? s.value : s.reason)),
    [['stored'], ['stored', 'stored'], ['stored'], ['stored']],
  );
  assert.deepEqual(await streamIds(source), ['p0', 'p1', 'p2', 'p3', 'p4']);
  const { deliveries } = await driver.claim(source, {
    max: 10,
    leaseMs: 10_000,
    orderByKey: false,
  });
  assert.deepEqual(
    deliveries.map((d) => [d.id, d.body, d.headers]),
    [
      ['p0', '"p0"', {}],
      ['p1', '"p1"', {}],
      ['p2', '"p2"', {}],
      ['p3', '"p3"', { traceparent: '00-abc-def-01' }],
      ['p4', '"p4"', {}],
    ],
  );
  assert.deepEqual((await driver.stats(source)).inFlight, 5);
});

it('rejects, batch by batch, what does not fit of a plain run, storing the rest', async () => {
  const source = { kind: 'queue', queue: 'plain-full' } as const;
  const three = { ...options, maxLength: 3 };
  const settled = await inOneCall(
    source,
    [plain('f0')],
    [[plain('f1'), plain('f2')], [plain('f3'), plain('f4')], [plain('f5')]],
    three,
  );
  assert.deepEqual(
    settled.map((s) => s.status),
    ['fulfilled', 'fulfilled', 'rejected', 'rejected'],
  );
  for (const s of settled.slice(2)) {
    assert.ok(s.status === 'rejected' && isSluiceError(s.reason, 'SLUICE_QUEUE_FULL'));
  }
  assert.deepEqual(await streamIds(source), ['f0', 'f1', 'f2'], 'a batch is whole or absent');
});

it('drops the oldest for a plain run that does not fit when so configured', async () => {
  const source = { kind: 'queue', queue: 'plain-drop' } as const;
  const three = { ...options, maxLength: 3, overflow: 'drop-oldest' } as const;
  const settled = await inOneCall(
    source,
    [plain('d0')],
    [[plain('d1'), plain('d2')], [plain('d3'), plain('d4')], [plain('d5')]],
    three,
  );
  assert.ok(settled.every((s) => s.status === 'fulfilled'));
  assert.deepEqual(await streamIds(source), ['d3', 'd4', 'd5']);
  const tooBig = driver.enqueue(
    source,
    [plain('x1'), plain('x2'), plain('x3'), plain('x4')],
    three,
  );
  await assert.rejects(tooBig, (e) => isSluiceError(e, 'SLUICE_QUEUE_FULL'));
  assert.deepEqual(await streamIds(source), ['d3', 'd4', 'd5']);
});

it('keeps batch order and dedupe across plain runs and checked batches in one call', async () => {
  const source = { kind: 'queue', queue: 'mixed' } as const;
  const settled = await inOneCall(
    source,
    [checked('m0')],
    [[plain('m1')], [checked('m0'), checked('m2'), checked('m2')], [plain('m3')], [checked('m4')]],
  );
  assert.deepEqual(
    settled.map((s) => (s.status === 'fulfilled' ? s.value : s.reason)),
    [['stored'], ['stored'], ['duplicate', 'stored', 'duplicate'], ['stored'], ['stored']],
  );
  assert.deepEqual(await streamIds(source), ['m0', 'm1', 'm2', 'm3', 'm4']);
});

it('fans a plain run out to every group of a topic, counting each group on its own', async () => {
  await driver.createGroup('plain-events', 'a');
  await driver.createGroup('plain-events', 'b');
  const topic = { kind: 'topic', topic: 'plain-events' } as const;
  const groupA = { kind: 'subscription', topic: 'plain-events', group: 'a' } as const;
  const groupB = { kind: 'subscription', topic: 'plain-events', group: 'b' } as const;
  const two = { ...options, maxLength: 2 };
  await driver.enqueue(topic, [plain('e0')], two);
  await driver.ack(
    groupA,
    (await driver.claim(groupA, { max: 1, leaseMs: 10_000, orderByKey: false })).deliveries.map(
      (d) => d.receipt,
    ),
  );
  const settled = await inOneCall(topic, [plain('e1')], [[plain('e2')]], two);
  assert.equal(settled[0]!.status, 'fulfilled');
  assert.ok(
    settled[1]!.status === 'rejected' && isSluiceError(settled[1]!.reason, 'SLUICE_QUEUE_FULL'),
    'group b holds two already',
  );
  assert.deepEqual(await streamIds(groupA), ['e1']);
  assert.deepEqual(await streamIds(groupB), ['e0', 'e1']);
});

it('makes the stream and its consumer group again when they are gone', async () => {
  const source = { kind: 'queue', queue: 'gone' } as const;
  await driver.enqueue(source, [plain('g0')], options);
  await admin.del(`${driver.keys.box(source)}:s`);
  assert.deepEqual(await driver.enqueue(source, [plain('g1')], options), ['stored']);
  const { deliveries } = await driver.claim(source, { max: 5, leaseMs: 10_000, orderByKey: false });
  assert.deepEqual(
    deliveries.map((d) => d.id),
    ['g1'],
  );
});

it('answers an empty publish without a call, and wakes consumers once per call', async () => {
  const source = { kind: 'queue', queue: 'wake' } as const;
  assert.deepEqual(await driver.enqueue(source, [], options), []);
  assert.equal(await admin.exists(`${driver.keys.box(source)}:s`), 0);
  const listener = new Redis(url);
  try {
    const heard: string[] = [];
    listener.on('message', (channel: string) => heard.push(channel));
    await listener.subscribe(`${driver.keys.box(source)}:w`);
    await inOneCall(source, [plain('w0')], [[plain('w1')], [plain('w2')]]);
    await driver.enqueue(source, [plain('w3')], options);
    // Published before the calls returned, so on the listener's socket before this reply.
    await listener.ping();
    assert.equal(heard.length, 2, 'one wake-up per call, not per message');
    assert.deepEqual(await streamIds(source), ['w0', 'w1', 'w2', 'w3']);
  } finally {
    listener.disconnect();
  }
});

it('packs id and body into one value that any id and body come back from', async () => {
  const source = { kind: 'queue', queue: 'packed' } as const;
  const records = [
    message('12:34', '5:{"a":1}'),
    message('ünï-cødé-🍵', '"🍵 tea"'),
    message('x', ''),
    message('7', '7:7'),
  ];
  assert.equal(packMessage('12:34', 'b'), '5:12:34b');
  await driver.enqueue(source, records, options);
  const stream = `${driver.keys.box(source)}:s`;
  const [first] = await admin.xrange(stream, '-', '+', 'COUNT', 1);
  assert.deepEqual(first![1], ['m', '5:12:345:{"a":1}'], 'one field per plain message');
  const { deliveries } = await driver.claim(source, { max: 10, ...lease });
  assert.deepEqual(
    deliveries.map((d) => [d.id, d.body]),
    records.map((r) => [r.id, r.body]),
  );
});

it('delivers, dead-letters and replays entries stored in the earlier format', async () => {
  const source = { kind: 'queue', queue: 'upgrade' } as const;
  const base = driver.keys.box(source);
  const stream = `${base}:s`;
  // As an earlier version left them: a stream with its group, entries with id and body
  // apart (one with headers, one with key and publish time), and a dead letter.
  await admin.xgroup('CREATE', stream, 'sluice', '0', 'MKSTREAM');
  await admin.xadd(stream, '*', 'i', 'old-1', 'b', '"one"');
  await admin.xadd(stream, '*', 'i', 'old-2', 'b', '"two"', 'h', '{"traceparent":"t"}');
  await admin.xadd(stream, '*', 'i', 'old-3', 'b', '"three"', 'k', 'k1', 't', '1700000000000');
  await admin.xadd(
    `${base}:x`,
    '*',
    ...['i', 'old-dead', 'b', '"dead"', 'h', '{"x":"y"}', 't', '1600000000000'],
    ...['a', '3', 'f', '1600000001000', 'e', 'boom'],
  );
  await driver.enqueue(source, [message('new-1', '"four"')], options);

  const { deliveries } = await driver.claim(source, { max: 10, ...lease });
  assert.deepEqual(
    deliveries.map((d) => [d.id, d.body, d.headers, d.key]),
    [
      ['old-1', '"one"', {}, undefined],
      ['old-2', '"two"', { traceparent: 't' }, undefined],
      ['old-3', '"three"', {}, 'k1'],
      ['new-1', '"four"', {}, undefined],
    ],
  );
  assert.equal(deliveries[2]!.publishedAt, 1_700_000_000_000);

  // One of each format dies; the earlier dead letter lists beside them.
  await driver.deadLetter(source, deliveries[1]!.receipt, 'failed old');
  await driver.deadLetter(source, deliveries[3]!.receipt, 'failed new');
  const dead = await driver.listDeadLetters(source, 10);
  assert.deepEqual(
    dead.map((d) => [d.id, d.body, d.headers, d.attempt, d.error]),
    [
      ['old-dead', '"dead"', { x: 'y' }, 3, 'boom'],
      ['old-2', '"two"', { traceparent: 't' }, 1, 'failed old'],
      ['new-1', '"four"', {}, 1, 'failed new'],
    ],
  );
  assert.equal(dead[0]!.publishedAt, 1_600_000_000_000);
  assert.equal(dead[2]!.publishedAt, deliveries[3]!.publishedAt, 'publish time kept');

  // Replayed by id, each comes back whole, as it was published.
  assert.equal(await driver.replayDeadLetters(source, ['old-dead', 'new-1']), 2);
  const again = await driver.claim(source, { max: 10, ...lease });
  assert.deepEqual(
    again.deliveries.map((d) => [d.id, d.body, d.headers, d.attempt, d.publishedAt]),
    [
      ['old-dead', '"dead"', { x: 'y' }, 1, 1_600_000_000_000],
      ['new-1', '"four"', {}, 1, deliveries[3]!.publishedAt],
    ],
  );
  const left = await admin.xrange(`${base}:x`, '-', '+');
  assert.deepEqual(
    left.map(([, fields]) => messageId(fields)),
    ['old-2'],
  );
});

it('reads a packed value that is not one as all body, with the entry id, rather than failing', async () => {
  const source = { kind: 'queue', queue: 'odd' } as const;
  const stream = `${driver.keys.box(source)}:s`;
  await admin.xgroup('CREATE', stream, 'sluice', '0', 'MKSTREAM');
  const short = await admin.xadd(stream, '*', 'm', '99:short');
  const unnumbered = await admin.xadd(stream, '*', 'm', 'no length');
  const { deliveries } = await driver.claim(source, { max: 10, ...lease });
  assert.deepEqual(
    deliveries.map((d) => [d.id, d.body]),
    [
      [short, '99:short'],
      [unnumbered, 'no length'],
    ],
  );
});
