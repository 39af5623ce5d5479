// The stored format: plain publishes pack a message's id and body into one field (m); other
// publishes, and every entry an earlier version stored, carry them apart (i and b). Entries
// and dead letters in the earlier format, as an upgrading user has them, are delivered,
// dead-lettered and replayed with nothing lost.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { Redis } from 'ioredis';
import type { EnqueueOptions, OutgoingRecord } from '../../../src/messaging/driver.js';
import { openRedisDriver, type RedisDriver } from '../../../src/messaging/drivers/redis/driver.js';
import { messageId, packMessage } from '../../../src/messaging/drivers/redis/records.js';
import { requireEngine } from '../../support/engines.js';

await requireEngine('redis');

const url = 'redis://127.0.0.1:6379';
const prefix = `sluice-test:format-${process.pid}-${Date.now().toString(36)}:`;
const options: EnqueueOptions = { dedupeWindowMs: 0, maxLength: 1000, overflow: 'reject' };
const lease = { leaseMs: 10_000, orderByKey: false } as const;
const plain = (id: string, body: string): OutgoingRecord => ({
  id,
  dedupe: false,
  key: undefined,
  headers: {},
  body,
  delayMs: 0,
});
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

it('packs id and body into one value that any id and body come back from', async () => {
  const source = { kind: 'queue', queue: 'packed' } as const;
  const records = [
    plain('12:34', '5:{"a":1}'),
    plain('ünï-cødé-🍵', '"🍵 tea"'),
    plain('x', ''),
    plain('7', '7:7'),
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
  await driver.enqueue(source, [plain('new-1', '"four"')], options);

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
