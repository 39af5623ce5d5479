// What the nats driver does on JetStream itself, beyond the shared conformance suite:
// the objects it makes, leases against ack_wait, naks for backoff, per-group replay,
// cross-process wake-ups, what it declares unsupported, and its metrics.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { type NatsConnection, connect as natsConnect } from '@nats-io/transport-node';
import { isSluiceError } from '../../../src/core/errors.js';
import { type NatsDriver, openNatsDriver } from '../../../src/messaging/drivers/nats/driver.js';
import { apiCode, codes } from '../../../src/messaging/drivers/nats/errors.js';
import { Names } from '../../../src/messaging/drivers/nats/names.js';
import { resolveNatsOptions } from '../../../src/messaging/drivers/nats/options.js';
import { Topology } from '../../../src/messaging/drivers/nats/topology.js';
import { type Broker, connect } from '../../../src/messaging/index.js';
import { requireEngine } from '../../support/engines.js';
import { metricSum, metricValue } from '../../support/metrics.js';
import { waitFor } from '../../support/wait-for.js';

await requireEngine('nats');

const url = 'nats://127.0.0.1:4222';
const prefix = `eng${process.pid}x${Date.now().toString(36)}`;
const ackWait = 1000;
let nc: NatsConnection;
let jsm: JetStreamManager;
let driver: NatsDriver;
let broker: Broker;
const others: Broker[] = [];

/** A second broker on its own connection, as another process would have. */
async function another(): Promise<Broker> {
  const b = await connect({ driver: await openNatsDriver(url, { prefix, ackWait }) });
  others.push(b);
  return b;
}

before(async () => {
  nc = await natsConnect({ servers: url });
  jsm = await jetstreamManager(nc);
  driver = await openNatsDriver(url, { prefix, ackWait, maxAckPending: 500 });
  broker = await connect({ driver });
});

after(async () => {
  for (const b of [broker, ...others]) await b.close({ drainTimeout: 1000 });
  const admin = await openNatsDriver(url, { prefix });
  await admin.dropAll();
  await admin.close();
  await nc.close();
});

it('keeps a queue in a work-queue stream with a durable pull consumer carrying the producer limits', async () => {
  const queue = broker.queue<number>('shapes', {
    maxLength: 50,
    overflow: 'reject',
    dedupeWindow: 5000,
  });
  await queue.publish(1);
  const stream = await jsm.streams.info(`${prefix}_Q_shapes`);
  assert.equal(stream.config.retention, 'workqueue');
  assert.equal(stream.config.max_msgs, 50);
  assert.equal(stream.config.discard, 'new');
  assert.equal(stream.config.duplicate_window, 5000 * 1_000_000);
  assert.equal((await queue.stats()).depth, 1);
  const consumer = await jsm.consumers.info(`${prefix}_Q_shapes`, 'work');
  assert.equal(consumer.config.ack_policy, 'explicit');
  assert.equal(consumer.config.ack_wait, ackWait * 1_000_000);
  assert.equal(consumer.config.max_ack_pending, 500);
  assert.equal(consumer.num_pending, 1);
  // A topic: an interest stream, one durable consumer per group.
  const topic = broker.topic<string>('news.daily');
  await topic.createGroup('billing');
  const topicStream = await jsm.streams.info(`${prefix}_T_news~daily`);
  assert.equal(topicStream.config.retention, 'interest');
  assert.equal(
    (await jsm.consumers.info(`${prefix}_T_news~daily`, 'g_billing')).config.deliver_policy,
    'new',
  );
});

it('de-duplicates through Nats-Msg-Id, so a raw JetStream publish of the same id is a duplicate', async () => {
  const queue = broker.queue<string>('dedupe-interop');
  await queue.publish('ours', { id: 'order-7' });
  const ack = await jetstream(nc).publish(`${prefix}.q.dedupe-interop`, '"theirs"', {
    msgID: 'order-7',
  });
  assert.equal(ack.duplicate, true);
  assert.equal((await queue.stats()).depth, 1);
});

it('keeps a lease longer than ack_wait alive with working(): no redelivery while the handler runs', async () => {
  const queue = broker.queue<string>('long-lease');
  await queue.publish('slow');
  const attempts: number[] = [];
  let done = false;
  queue.consume(
    async (m) => {
      attempts.push(m.attempt);
      await delay(ackWait * 2.5);
      done = true;
    },
    { leaseTimeout: 10_000 },
  );
  // Another process polls the queue all along: it must never get the message.
  const rival = (await another()).queue<string>('long-lease');
  const stolen: string[] = [];
  rival.consume(
    (m) => {
      stolen.push(m.payload);
    },
    { pollInterval: 20 },
  );
  await waitFor('the slow handler', () => done);
  await waitFor('the ack', async () => (await queue.stats()).inFlight === 0);
  assert.deepEqual(attempts, [1]);
  assert.deepEqual(stolen, []);
});

it('ends a lease shorter than ack_wait here, so another process gets the message at once', async () => {
  const name = 'short-lease';
  const queue = broker.queue<string>(name);
  await queue.publish('x', { id: 'x1' });
  const source = { kind: 'queue', queue: name } as const;
  const first = await driver.claim(source, { max: 1, leaseMs: 100, orderByKey: false });
  assert.equal(first.deliveries.length, 1);
  const other = (await another()).queue<string>(name);
  const got: number[] = [];
  other.consume(
    (m) => {
      got.push(m.attempt);
    },
    { pollInterval: 20 },
  );
  // Well before the 30 s ack_wait of a default consumer would have run out.
  await waitFor('the other process to get it', () => got.length === 1);
  assert.deepEqual(got, [2]);
  await driver.ack(source, [first.deliveries[0]!.receipt]);
  await waitFor('the ack', async () => (await queue.stats()).inFlight === 0);
  assert.deepEqual(got, [2]);
});

it('keeps the lease of a handler that stalled the event loop past it: the overdue renewal lands first', async () => {
  const queue = broker.queue<string>('stalled');
  await queue.publish('x');
  const attempts: number[] = [];
  let done = false;
  const consumer = queue.consume(
    async (m) => {
      attempts.push(m.attempt);
      // Blocks every timer, the lease sweep's and the renewal's alike, for three leases.
      const until = performance.now() + 300;
      while (performance.now() < until) {}
      await delay(150);
      done = true;
    },
    { leaseTimeout: 100, pollInterval: 20 },
  );
  await waitFor('the handler', () => done);
  await waitFor('the ack', async () => (await queue.stats()).inFlight === 0);
  await consumer.stop();
  assert.deepEqual(attempts, [1]);
  assert.equal((await queue.stats()).depth, 0);
});

it("counts this process's acks in stats() at once, though JetStream applies acks apart from API calls", async () => {
  const queue = broker.queue<number>('acks-seen');
  const source = { kind: 'queue', queue: 'acks-seen' } as const;
  for (let round = 0; round < 30; round++) {
    await queue.publishBatch([{ payload: 1 }, { payload: 2 }]);
    const { deliveries } = await driver.claim(source, {
      max: 2,
      leaseMs: 30_000,
      orderByKey: false,
    });
    assert.equal(deliveries.length, 2);
    await driver.release(source, deliveries[1]!.receipt, { delayMs: 0, countAttempt: false });
    await driver.ack(source, [deliveries[0]!.receipt]);
    const stats = await queue.stats();
    assert.deepEqual([stats.depth, stats.inFlight], [1, 0], `round ${round}`);
    const again = await driver.claim(source, { max: 2, leaseMs: 30_000, orderByKey: false });
    await driver.ack(
      source,
      again.deliveries.map((d) => d.receipt),
    );
  }
});

it('backs off with a delayed nak: delayed in stats, then redelivered as the next attempt', async () => {
  const queue = broker.queue<string>('nak-delay');
  await queue.publish('x');
  const seen: [number, number][] = [];
  queue.consume(
    (m) => {
      seen.push([m.attempt, Date.now()]);
      if (m.attempt === 1) throw new Error('later');
    },
    { retry: () => 400 },
  );
  await waitFor('the failure', () => seen.length === 1);
  await waitFor('the nak', async () => (await queue.stats()).delayed === 1);
  const during = await queue.stats();
  assert.equal(during.depth + during.inFlight, 0);
  await waitFor('the retry', () => seen.length === 2);
  assert.equal(seen[1]![0], 2);
  assert.ok(seen[1]![1] - seen[0]![1] >= 390, 'redelivered before its backoff');
});

it('dead-letters a message near max_payload whole, its error cut to fit, and replays it', async () => {
  const maxPayload = nc.info!.max_payload;
  const queue = broker.queue<string>('near-limit-dead');
  const body = 'x'.repeat(maxPayload - 600);
  await queue.publish(body, { id: 'near-limit' });
  let healthy = false;
  const replayed: string[] = [];
  queue.consume(
    (m) => {
      if (!healthy) throw new Error(`failed: ${'é'.repeat(8000)}`);
      replayed.push(m.payload);
    },
    { retry: () => 1, maxAttempts: 1 },
  );
  await waitFor('the dead letter', async () => (await queue.stats()).deadLettered === 1);
  const [dead] = await queue.deadLetters.list();
  assert.equal(dead?.id, 'near-limit');
  assert.equal(dead?.payload, body);
  assert.match(dead?.error ?? '', /^Error: failed: é+…$/);
  assert.equal((await queue.stats()).depth, 0);
  healthy = true;
  assert.equal(await queue.deadLetters.replay(), 1);
  await waitFor('the replay', () => replayed.length === 1);
  assert.equal(replayed[0], body);
});

it('reads dead letters stored whole as JSON, as earlier versions stored them', async () => {
  const queue = broker.queue<string>('old-dead');
  queue.consume(
    () => {
      throw new Error('new');
    },
    { retry: () => 1, maxAttempts: 1 },
  );
  await queue.publish('fresh', { id: 'fresh' });
  await waitFor('the new dead letter', async () => (await queue.deadLetters.list()).length === 1);
  const old = {
    id: 'old',
    key: undefined,
    headers: { h: 'v' },
    body: JSON.stringify('kept'),
    attempt: 3,
    publishedAt: 1,
    failedAt: 2,
    error: 'Error: old',
  };
  await jetstream(nc).publish(`${prefix}.x.Q_old-dead`, JSON.stringify(old));
  const listed = await queue.deadLetters.list();
  assert.deepEqual(
    listed.map((d) => [d.id, d.payload, d.error, d.headers]),
    [
      ['fresh', 'fresh', 'Error: new', {}],
      ['old', 'kept', 'Error: old', { h: 'v' }],
    ],
  );
});

it('refuses a queued message that leaves no room for its dead letter', async () => {
  const maxPayload = nc.info!.max_payload;
  const queue = broker.queue<string>('no-room');
  await assert.rejects(
    queue.publish('x'.repeat(maxPayload - 200)),
    (e) =>
      isSluiceError(e, 'SLUICE_INVALID_MESSAGE') &&
      /less 256 bytes kept for its dead letter; nothing was stored/.test((e as Error).message),
  );
  assert.equal((await queue.stats()).depth, 0);
});

it('replays a topic dead letter to its own group only', async () => {
  const topic = broker.topic<string>('replay-groups');
  const good: string[] = [];
  const bad: [string, number][] = [];
  let healthy = false;
  await topic.subscribe('good', (m) => {
    good.push(m.payload);
  });
  await topic.subscribe(
    'bad',
    (m) => {
      if (!healthy) throw new Error('down');
      bad.push([m.payload, m.attempt]);
    },
    { retry: () => 1, maxAttempts: 1 },
  );
  await topic.publish('e1', { id: 'e1' });
  await waitFor('the dead letter', async () => (await topic.stats('bad')).deadLettered === 1);
  healthy = true;
  assert.equal(await topic.deadLetters('bad').replay(), 1);
  await waitFor('the replay', () => bad.length === 1);
  assert.deepEqual(bad, [['e1', 1]]);
  await waitFor('the good group to settle', async () => (await topic.stats('good')).depth === 0);
  assert.deepEqual(good, ['e1']);
});

it('wakes an idle consumer in another process when a message is published', async () => {
  const idle = (await another()).queue<string>('wake');
  const seen: string[] = [];
  idle.consume(
    (m) => {
      seen.push(m.payload);
    },
    { pollInterval: 60_000 },
  );
  await broker.queue<string>('wake').publish('hello');
  await waitFor('the wake-up', () => seen.length === 1);
});

it('wakes a new listener once the server has its subscription, for what was published before', async () => {
  const source = { kind: 'queue', queue: 'wake-confirmed' } as const;
  let woken = 0;
  const stop = driver.onWork(source, () => {
    woken++;
  });
  try {
    // Nothing is published: the only wake-up is the one that says the subscription is in place.
    await waitFor('the wake-up once subscribed', () => woken === 1);
  } finally {
    stop();
  }
});

it('declares what JetStream cannot do, and rejects it with SLUICE_UNSUPPORTED', async () => {
  const unsupported = (e: unknown) => isSluiceError(e, 'SLUICE_UNSUPPORTED');
  assert.equal(broker.capabilities.delay, false);
  assert.equal(broker.capabilities.orderByKey, false);
  await assert.rejects(broker.queue('nope').publish('x', { delay: 100 }), unsupported);
  assert.throws(() => broker.queue('nope').consume(() => {}, { ordering: 'key' }), unsupported);
  // JetStream's shortest duplicate window is 100 ms.
  await assert.rejects(
    broker.queue('short-window', { dedupeWindow: 50 }).publish('x', { id: 'a' }),
    unsupported,
  );
});

it('uses stream sequences as offsets and keeps committed offsets across connections', async () => {
  const log = broker.stream<number>('ledger', { maxCount: 3 });
  const offsets = await log.appendBatch([1, 2, 3, 4, 5].map((payload) => ({ payload })));
  const info = await jsm.streams.info(`${prefix}_L_ledger`);
  assert.equal(info.state.last_seq, offsets.at(-1));
  assert.equal(info.state.first_seq, offsets[2]);
  await log.group('audit').commit(offsets[3]!);
  const again = (await another()).stream<number>('ledger');
  assert.equal(await again.group('audit').committed(), offsets[3]);
  assert.deepEqual(
    (await again.group('audit').read()).map((e) => e.payload),
    [4, 5],
  );
});

it('exports its depth and connection under the names every driver uses', async () => {
  const queue = broker.queue<number>('lagging');
  await queue.publishBatch([1, 2, 3, 4].map((payload) => ({ payload })));
  const labels = { driver: 'nats', destination: 'lagging' };
  assert.equal(await metricValue('sluice_messaging_depth', labels), 4);
  assert.equal(await metricValue('sluice_messaging_published_total', labels), 4);
  assert.ok((await metricSum('sluice_messaging_connected', { driver: 'nats' })) >= 1);
});

it('makes a stream deleted behind its back again on the next publish and claim', async () => {
  const queue = broker.queue<number>('recreated');
  const seen: number[] = [];
  queue.consume(
    (m) => {
      seen.push(m.payload);
    },
    { pollInterval: 20 },
  );
  await queue.publish(1);
  await waitFor('the first message', () => seen.length === 1);
  await jsm.streams.delete(`${prefix}_Q_recreated`);
  await queue.publish(2);
  await waitFor('the message after the deletion', () => seen.length === 2);
  assert.deepEqual(seen, [1, 2]);
});

it('rejects unknown options and an unreachable server with clear errors', async () => {
  await assert.rejects(
    openNatsDriver(url, { prefx: 'x' } as unknown as { prefix: string }),
    /nats driver options: prefx: unknown key "prefx"/,
  );
  await assert.rejects(
    openNatsDriver(url, { prefix: 'has space' }),
    /nats driver options: prefix: expected 1-32 letters/,
  );
  // Port 1 on loopback: nothing listens there.
  await assert.rejects(openNatsDriver('nats://127.0.0.1:1', { prefix }), (e) =>
    isSluiceError(e, 'SLUICE_ENGINE_UNAVAILABLE'),
  );
});

it('keeps batches all or nothing under "reject" when producers race for the last room', async () => {
  const options = { maxLength: 10, overflow: 'reject' } as const;
  const producers = [broker, await another(), await another()].map((b) =>
    b.queue<number>('race', options),
  );
  for (let round = 0; round < 3; round++) {
    const outcomes = await Promise.allSettled(
      producers.map((q, p) =>
        q.publishBatch(Array.from({ length: 6 }, (_, i) => ({ payload: p * 10 + i }))),
      ),
    );
    for (const o of outcomes) {
      if (o.status === 'rejected')
        assert.ok(isSluiceError(o.reason, 'SLUICE_QUEUE_FULL'), String(o.reason));
    }
    const accepted = outcomes.filter((o) => o.status === 'fulfilled').length;
    const { depth } = await producers[0]!.stats();
    // Only whole batches are stored: never a part of a rejected one.
    assert.equal(depth, accepted * 6, `round ${round}: ${accepted} accepted, depth ${depth}`);
    assert.ok(depth <= 10);
    await jsm.streams.purge(`${prefix}_Q_race`);
  }
});

it('takes a stream that a racing create made as made, and a subject another stream holds as an error', async () => {
  const names = new Names(prefix);
  const options = resolveNatsOptions({ prefix });
  // The server's own answer when a stream of another name holds the subject.
  const held = names.queue('held');
  await jsm.streams.add({ name: `${prefix}_OTHER`, subjects: [held.subject] });
  const overlap = await jsm.streams.add({ name: held.stream, subjects: [held.subject] }).then(
    () => assert.fail('the server accepted an overlapping stream'),
    (e: unknown) => e,
  );
  assert.equal(apiCode(overlap), codes.subjectsOverlap);
  await assert.rejects(
    new Topology(jsm, names, options).target('queue', 'held'),
    /subjects overlap/,
  );
  await jsm.streams.delete(`${prefix}_OTHER`);

  // nats-server can give that same answer to the loser of two creates of one stream: the
  // winner's stream is the one it overlaps. Here the "winner" is made just before the answer.
  const raced = names.queue('raced');
  const racing = new Proxy(jsm.streams, {
    get: (streams, key) =>
      key === 'add'
        ? async (config: Parameters<typeof streams.add>[0]) => {
            await streams.add(config);
            throw overlap;
          }
        : Reflect.get(streams, key),
  });
  const topology = new Topology({ ...jsm, streams: racing } as JetStreamManager, names, options);
  await topology.target('queue', 'raced', {
    maxLength: 7,
    overflow: 'reject',
    dedupeWindowMs: 1000,
  });
  const info = await jsm.streams.info(raced.stream);
  assert.equal(info.config.max_msgs, 7);
  assert.deepEqual(info.config.subjects, [raced.subject]);
});

it('carries ids, keys and headers exactly, whatever characters they hold', async () => {
  const queue = broker.queue<string>('odd-characters');
  const id = 'order 7\nline two';
  const headers = { 'x-naïve': 'välue\r\nX-Injected: 1', 'Content-Type': 'text/plain' };
  assert.equal((await queue.publish('ünï', { id, key: 'clé 🔑', headers })).duplicate, false);
  assert.equal((await queue.publish('again', { id })).duplicate, true);
  const got: {
    id: string;
    key: string | undefined;
    headers: Record<string, string>;
    payload: string;
  }[] = [];
  queue.consume((m) => {
    got.push({ id: m.id, key: m.key, headers: { ...m.headers }, payload: m.payload });
  });
  await waitFor('the delivery', () => got.length === 1);
  const { traceparent: _, ...received } = got[0]!.headers;
  assert.deepEqual(
    { ...got[0]!, headers: received },
    { id, key: 'clé 🔑', headers, payload: 'ünï' },
  );
});

it("checks every message of a batch against the server's max_payload (headers counted) before storing any", async () => {
  const maxPayload = nc.info!.max_payload;
  const queue = broker.queue<string>('near-limit');
  // A JSON body within Sluice's own limit that only the headers push over the server's.
  const big = 'x'.repeat(maxPayload - 100);
  const tooLarge = (e: unknown) =>
    isSluiceError(e, 'SLUICE_INVALID_MESSAGE') &&
    /over the NATS server's max_payload of \d+( less 256 bytes kept for its dead letter)?; nothing was stored/.test(
      (e as Error).message,
    );
  await assert.rejects(queue.publish(big, { headers: { note: 'y'.repeat(200) } }), tooLarge);
  await assert.rejects(
    queue.publishBatch([
      { payload: 'small' },
      { payload: big, headers: { note: 'y'.repeat(200) } },
    ]),
    (e) => tooLarge(e) && /message 2 of 2/.test((e as Error).message),
  );
  assert.equal((await queue.stats()).depth, 0, 'a rejected batch stored nothing');
  const log = broker.stream<string>('near-limit-log');
  await assert.rejects(
    log.appendBatch([{ payload: 'small' }, { payload: big, headers: { note: 'y'.repeat(200) } }]),
    tooLarge,
  );
  assert.deepEqual(await log.read(), [], 'a rejected append stored nothing');
  // Just under the limit, headers included, is stored.
  await queue.publish('x'.repeat(maxPayload - 2048));
  assert.equal((await queue.stats()).depth, 1);
});
