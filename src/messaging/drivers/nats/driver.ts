import { once } from 'node:events';
import { deadlineSignal } from '../../../core/deadline.js';
import { ClosedError, EngineUnavailableError, UnsupportedError } from '../../../core/errors.js';
import type {
  ClaimRequest,
  ClaimResult,
  DeadLetterParts,
  Delivery,
  DriverCapabilities,
  EnqueueOptions,
  EnqueueOutcome,
  OutgoingRecord,
  QueueStats,
  ReleaseOptions,
  Source,
  StreamParts,
  Target,
} from '../../driver.js';
import { everyCapability } from '../../driver.js';
import { AssembledDriver, type DriverStore, storeParts } from '../assemble.js';
import { AcksSeen } from './acks-seen.js';
import { type NatsClients, openConnection } from './connection.js';
import { DeadLetterStore } from './dead-letters.js';
import { publishRecords } from './enqueue.js';
import { isNoStream, translate } from './errors.js';
import type { JsDelivery } from './jsmsg.js';
import { type Held, LeaseTable } from './leases.js';
import { Logs } from './logs.js';
import { Names } from './names.js';
import { type NatsDriverOptions, type ResolvedNatsOptions, resolveNatsOptions } from './options.js';
import { PubAcks } from './pub-acks.js';
import { MissingConsumerError, Puller } from './pull.js';
import { readMeta, text } from './records.js';
import { Redeliveries } from './redeliveries.js';
import { queueStats } from './stats.js';
import { Topology } from './topology.js';
import { Wakes } from './wakes.js';

/** nats-server's default max_payload, until the server's INFO says otherwise. */
const defaultMaxPayload = 1024 * 1024;

/** Connects to NATS at `url` (e.g. `nats://127.0.0.1:4222`) and returns the driver. */
export async function openNatsDriver(
  url: string,
  options?: NatsDriverOptions,
): Promise<NatsDriver> {
  const resolved = resolveNatsOptions(options);
  return new NatsDriver(new NatsStore(await openConnection(url, resolved), resolved));
}

/**
 * JetStream: a queue is a work-queue stream with one durable pull consumer, a topic an
 * interest stream with a durable consumer per group, a log a limits stream. Producer ids
 * ride in `Nats-Msg-Id` against the stream's duplicate window; retries are naks with a delay.
 */
export class NatsDriver extends AssembledDriver {
  readonly #store: NatsStore;

  constructor(store: NatsStore) {
    super(storeParts('nats', store));
    this.#store = store;
  }

  /** False while the connection is down and the client is reconnecting. */
  get connected(): boolean {
    return this.#store.connected;
  }

  /** The prefix of every stream and subject this driver uses. */
  get prefix(): string {
    return this.#store.prefix;
  }

  /** Deletes every stream this driver's prefix names (all queues, topics, logs, dead letters). */
  dropAll(): Promise<number> {
    return this.#store.dropAll();
  }
}

/** The queue, dead-letter and stream work on one JetStream connection. */
class NatsStore implements DriverStore {
  readonly capabilities: DriverCapabilities;
  readonly #c: NatsClients;
  readonly #options: ResolvedNatsOptions;
  readonly #names: Names;
  readonly #topology: Topology;
  readonly #puller: Puller;
  readonly #leases: LeaseTable;
  readonly #redeliveries = new Redeliveries();
  readonly #dead: DeadLetterStore;
  readonly #logs: Logs;
  readonly #wakes: Wakes;
  readonly #acksSeen: AcksSeen;
  readonly #pubAcks: PubAcks;
  #closed = false;

  readonly deadLetters: DeadLetterParts = {
    list: (source, limit) =>
      this.#whenUp(async () => this.#dead.list(await this.#topology.deadLetters(source), limit)),
    replay: (source, ids) =>
      this.#whenUp(async () => {
        await this.#topology.source(source);
        const stream = await this.#topology.deadLetters(source);
        const target =
          source.kind === 'queue'
            ? { subject: this.#names.queue(source.queue).subject }
            : { subject: this.#names.topic(source.topic).replaySubject, group: source.group };
        const replayed = await this.#dead.replay(stream, ids, target);
        if (replayed > 0) this.#wakes.send(this.#names.source(source).wake);
        return replayed;
      }),
    purge: (source, ids) =>
      this.#whenUp(async () => this.#dead.purge(await this.#topology.deadLetters(source), ids)),
  };

  readonly streams: StreamParts = {
    append: (stream, records, retention) =>
      this.#whenUp(async () => {
        const offsets = await this.#logs.append(stream, records, retention);
        this.#wakes.send(this.#names.log(stream).wake);
        return offsets;
      }),
    read: (stream, fromOffset, limit) =>
      this.#whenUp(() => this.#logs.read(stream, fromOffset, limit)),
    resolvePosition: (stream, position) => this.#whenUp(() => this.#logs.resolve(stream, position)),
    commitOffset: (stream, group, offset) =>
      this.#whenUp(() => this.#logs.commit(stream, group, offset)),
    committedOffset: (stream, group) => this.#whenUp(() => this.#logs.committed(stream, group)),
    onAppend: (stream, listener) => this.#wakes.on(this.#names.log(stream).wake, listener),
  };

  constructor(clients: NatsClients, options: ResolvedNatsOptions) {
    this.#c = clients;
    this.#options = options;
    this.capabilities = {
      ...everyCapability,
      durable: options.storage === 'file',
      // JetStream (2.9) has no per-message delay on publish, and no way to keep one message
      // per key in flight across consumers; both are declared, not approximated.
      delay: false,
      orderByKey: false,
      // Offered with caveats. Dedupe: windows of 100 ms and more (JetStream's minimum); a
      // shorter one is refused at publish. Overflow: maxLength is the stream's max_msgs, so for
      // a topic it bounds the events some group has not acked yet, and "drop-oldest" (discard
      // old) may drop a message already in flight.
      dedupe: true,
      overflow: ['reject', 'drop-oldest'],
    };
    const { nc, js, jsm } = clients;
    this.#names = new Names(options.prefix);
    this.#topology = new Topology(jsm, this.#names, options);
    // A no_wait pull answers in milliseconds; one unanswered this long was lost.
    this.#puller = new Puller(nc, Math.min(options.timeoutMs, 2000));
    this.#leases = new LeaseTable((held) => this.#lapse(held));
    const access = {
      js,
      jsm,
      puller: this.#puller,
      timeoutMs: options.timeoutMs,
      maxPayload: () => this.#maxPayload,
    };
    this.#dead = new DeadLetterStore(access);
    this.#logs = new Logs(access, this.#names, this.#topology);
    this.#wakes = new Wakes(nc);
    this.#acksSeen = new AcksSeen(nc, Math.min(options.timeoutMs, 1000));
    this.#pubAcks = new PubAcks(nc, options.timeoutMs);
    clients.watch((up) => {
      if (!up) this.#puller.interrupt();
    });
  }

  /** False while the connection is down and the client is reconnecting. */
  get connected(): boolean {
    return this.#c.up();
  }

  /** The prefix of every stream and subject this driver uses. */
  get prefix(): string {
    return this.#names.prefix;
  }

  async enqueue(
    target: Target,
    records: readonly OutgoingRecord[],
    options: EnqueueOptions,
  ): Promise<EnqueueOutcome[]> {
    this.#connected();
    if (records.some((r) => r.delayMs > 0)) {
      throw new UnsupportedError('the nats driver does not offer delayed messages');
    }
    const name = target.kind === 'queue' ? target.queue : target.topic;
    const names = this.#names.target(target);
    const { jsm } = this.#c;
    const publish = async () => {
      await this.#topology.target(target.kind, name, options);
      const to = { ...names, maxPayload: this.#maxPayload };
      return publishRecords(this.#pubAcks, jsm, to, records, options);
    };
    let outcomes: EnqueueOutcome[];
    try {
      outcomes = await publish().catch((error: unknown) => {
        if (!isNoStream(error)) throw error;
        // The stream was deleted since this driver made it: make it again, once.
        this.#topology.forget(names.stream);
        return publish();
      });
    } catch (error) {
      throw translate(error, this.#options.timeoutMs);
    }
    if (outcomes.includes('stored')) this.#wakes.send(names.wake);
    return outcomes;
  }

  async createGroup(topic: string, group: string): Promise<void> {
    this.#connected();
    await this.#topology.source({ kind: 'subscription', topic, group });
  }

  async claim(source: Source, request: ClaimRequest): Promise<ClaimResult> {
    this.#connected();
    const ackWaitMs = await this.#topology.source(source);
    const { stream, consumer } = this.#names.source(source);
    const key = this.#key(source);
    let got: JsDelivery[];
    try {
      got = await this.#puller.pull(stream, consumer, request.max, request.signal);
    } catch (error) {
      // Made again on the next claim.
      if (error instanceof MissingConsumerError) {
        this.#topology.forget(stream);
        this.#acksSeen.forget(key);
      }
      throw error;
    }
    if (this.#closed) {
      for (const msg of got) msg.nak();
      return { deliveries: [] };
    }
    const deliveries: Delivery[] = [];
    let skipped = false;
    for (const msg of got) {
      const meta = readMeta(msg.headers, `${stream}:${msg.seq}`);
      if (
        source.kind === 'subscription' &&
        meta.group !== undefined &&
        meta.group !== source.group
      ) {
        // A dead letter replayed for another group of this topic.
        msg.ack();
        skipped = true;
        continue;
      }
      const attempt = this.#redeliveries.redelivered(key, msg.seq, msg.deliveryCount);
      const held = this.#leases.add(key, msg, attempt, request.leaseMs, ackWaitMs);
      deliveries.push({
        receipt: held.receipt,
        id: meta.id,
        key: meta.key,
        headers: meta.headers,
        body: text(msg.msg.data),
        attempt,
        publishedAt: meta.publishedAt ?? msg.storedAt,
      });
    }
    if (deliveries.length >= request.max) return { deliveries };
    const nextDueAt = skipped ? Date.now() : this.#redeliveries.counts(key, Date.now()).nextDueAt;
    return { deliveries, nextDueAt };
  }

  async ack(source: Source, receipts: readonly string[]): Promise<void> {
    const key = this.#key(source);
    let last: Held | undefined;
    for (const receipt of receipts) {
      const held = this.#leases.take(key, receipt);
      if (held === undefined) continue;
      held.delivery.ack();
      this.#redeliveries.done(key, held.delivery.seq);
      last = held;
    }
    if (last !== undefined) this.#acksSeen.acked(key, last.delivery);
    // Not flushed: waiting for the round trip behind a flood of publishes would stall the
    // consumer, and an ack that never arrives only means a redelivery (at-least-once).
  }

  async release(source: Source, receipt: string, options: ReleaseOptions): Promise<void> {
    const key = this.#key(source);
    const held = this.#leases.take(key, receipt);
    if (held === undefined) return;
    if (!options.countAttempt) this.#redeliveries.uncount(key, held.delivery.seq);
    this.#giveBack(held, options.delayMs);
    await this.#flush();
    this.#wakes.local(this.#names.source(source).wake);
  }

  async extendLease(
    source: Source,
    receipts: readonly string[],
    leaseMs: number,
  ): Promise<string[]> {
    const key = this.#key(source);
    return receipts.filter((receipt) => !this.#leases.extend(key, receipt, leaseMs));
  }

  async deadLetter(source: Source, receipt: string, error: string): Promise<void> {
    this.#connected();
    const key = this.#key(source);
    const held = this.#leases.take(key, receipt);
    if (held === undefined) return;
    try {
      await this.#topology.deadLetters(source);
      const meta = readMeta(held.delivery.headers, `${key}:${held.delivery.seq}`);
      await this.#dead.add(
        this.#names.deadLetters(source).subject,
        {
          id: meta.id,
          key: meta.key,
          headers: meta.headers,
          body: text(held.delivery.msg.data),
          attempt: held.attempt,
          publishedAt: meta.publishedAt ?? held.delivery.storedAt,
          failedAt: Date.now(),
          error,
        },
        `${key}:${held.delivery.seq}`,
      );
    } catch (failure) {
      // Not stored as a dead letter: give the message back rather than lose it.
      this.#giveBack(held, 0);
      throw failure;
    }
    held.delivery.ack();
    this.#acksSeen.acked(key, held.delivery);
    this.#redeliveries.done(key, held.delivery.seq);
    await this.#flush();
  }

  onWork(source: Source, listener: () => void): () => void {
    return this.#wakes.on(this.#names.source(source).wake, listener);
  }

  async stats(source: Source): Promise<QueueStats> {
    this.#connected();
    await this.#topology.source(source);
    await this.#acksSeen.settle(this.#key(source));
    const { stream, consumer } = this.#names.source(source);
    return queueStats({
      jsm: this.#c.jsm,
      stream,
      consumer,
      deadLetters: () => this.#dead.count(this.#names.deadLetters(source).stream),
      waiting: this.#redeliveries.counts(this.#key(source), Date.now()),
    });
  }

  /** Deletes every stream this driver's prefix names (all queues, topics, logs, dead letters). */
  async dropAll(): Promise<number> {
    if (this.#closed) throw new ClosedError('the nats driver is closed');
    this.#connected();
    let dropped = 0;
    for await (const name of this.#c.jsm.streams.names()) {
      if (!name.startsWith(`${this.#names.prefix}_`)) continue;
      await this.#c.jsm.streams.delete(name);
      this.#topology.forget(name);
      this.#acksSeen.clear();
      dropped++;
    }
    return dropped;
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const held of this.#leases.releaseAll()) held.delivery.nak();
    this.#puller.close();
    this.#wakes.close();
    this.#acksSeen.clear();
    this.#pubAcks.close();
    // Hand the last acks to the server, unless it is unreachable (then they are redelivered).
    await this.#flush().catch(() => undefined);
    await this.#c.nc.close();
  }

  /** Waits until the server has what was sent, but not past the timeout or while it is unreachable. */
  async #flush(): Promise<void> {
    if (!this.#c.up()) return;
    const deadline = deadlineSignal(this.#options.timeoutMs);
    try {
      await Promise.race([this.#c.nc.flush(), once(deadline.signal, 'abort')]);
    } finally {
      deadline.dispose();
    }
  }

  #key(source: Source): string {
    const { stream, consumer } = this.#names.source(source);
    return `${stream}/${consumer}`;
  }

  /** A lease ran out here: hand the message to the next consumer now, counted as an attempt. */
  #lapse(held: Held): void {
    this.#giveBack(held, 0);
  }

  #giveBack(held: Held, delayMs: number): void {
    held.delivery.nak(delayMs);
    this.#redeliveries.waiting(held.source, held.delivery.seq, Date.now() + delayMs);
  }

  /** The server's limit on headers plus body, from its INFO (read again after a reconnect). */
  get #maxPayload(): number {
    return this.#c.nc.info?.max_payload ?? defaultMaxPayload;
  }

  /** Runs `work`, which needs the server: it fails fast while the server is unreachable. */
  async #whenUp<R>(work: () => Promise<R>): Promise<R> {
    this.#connected();
    return work();
  }

  /** Calls that need the server fail fast while it is unreachable. */
  #connected(): void {
    if (!this.#c.up())
      throw new EngineUnavailableError('the connection to NATS is down; reconnecting');
  }
}
