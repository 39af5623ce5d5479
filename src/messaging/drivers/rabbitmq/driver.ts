import type { Channel, Message } from 'amqplib';
import { EngineUnavailableError, isSluiceError } from '../../../core/errors.js';
import type {
  ClaimRequest,
  ClaimResult,
  Delivery,
  DriverCapabilities,
  EnqueueOptions,
  EnqueueOutcome,
  MessagingDriver,
  OutgoingRecord,
  QueueParts,
  QueueStats,
  ReleaseOptions,
  Source,
  Target,
} from '../../driver.js';
import { everyCapability, sourceName } from '../../driver.js';
import { assembleDriver } from '../assemble.js';
import { ackBatch } from './ack-batch.js';
import { Consumers } from './consumers.js';
import { DeadLetterQueue } from './dead-letters.js';
import { delayBucket } from './delay.js';
import { OutcomeUnknownError, QueueMissingError, replyCode } from './errors.js';
import { type Held, Leases } from './leases.js';
import { Link } from './link.js';
import { LocalDedupe } from './local-dedupe.js';
import { ManagementApi } from './management.js';
import { Names } from './names.js';
import { type RabbitDriverOptions, resolveRabbitOptions } from './options.js';
import { confirmPublish } from './publish.js';
import { decode, fromOutgoing, h, publishOptions } from './records.js';
import { RoomCheck } from './room.js';
import { Topology } from './topology.js';

const capabilities: DriverCapabilities = {
  ...everyCapability,
  orderByKey: false,
  dedupe: false,
  overflow: ['reject'],
  streams: false,
  streamRetention: [],
  streamReadFromTime: false,
};

/**
 * RabbitMQ through amqplib: quorum queues, publisher confirms, manual acks, prefetch by
 * basic.qos, dead letters in a quorum dead-letter queue, delayed messages and retries in
 * TTL queues that dead-letter back, topics as fan-out exchanges with a queue per group.
 * No streams: they need the RabbitMQ stream protocol to report offsets.
 */
export async function openRabbitDriver(
  url: string,
  options?: RabbitDriverOptions,
): Promise<MessagingDriver> {
  const resolved = resolveRabbitOptions(options);
  const link = await Link.open(url, resolved);
  const names = new Names(resolved.prefix);
  const topology = new Topology(link, names);
  const management =
    resolved.management === undefined
      ? undefined
      : new ManagementApi(resolved.management.url, url, resolved.management.timeoutMs);
  const queues = new RabbitQueues(link, names, topology, resolved.localDedupe, management);
  return assembleDriver({
    name: 'rabbitmq',
    capabilities: { ...capabilities, dedupe: resolved.localDedupe },
    queues,
    deadLetters: new DeadLetterQueue(link, topology, names, (source) => queues.notify(source)),
    noStreams:
      'the rabbitmq driver does not offer streams (they need the RabbitMQ stream protocol to report offsets)',
    close: () => queues.close(),
  });
}

/** The queue and topic-group operations; the link, consumers and leases they share. */
class RabbitQueues implements QueueParts {
  readonly #link: Link;
  readonly #names: Names;
  readonly #topology: Topology;
  readonly #leases = new Leases();
  readonly #room = new RoomCheck();
  readonly #consumers: Consumers;

  readonly #dedupe: LocalDedupe | undefined;
  readonly #management: ManagementApi | undefined;

  constructor(
    link: Link,
    names: Names,
    topology: Topology,
    localDedupe: boolean,
    management: ManagementApi | undefined,
  ) {
    this.#dedupe = localDedupe ? new LocalDedupe() : undefined;
    this.#management = management;
    this.#link = link;
    this.#names = names;
    this.#topology = topology;
    this.#consumers = new Consumers(link, this.#leases, (m, queue, extra) =>
      this.#copy(m, queue, extra),
    );
    link.onUp(async () => {
      await this.#topology.redeclare();
      await this.#consumers.resume();
    });
  }

  async enqueue(
    target: Target,
    records: readonly OutgoingRecord[],
    options: EnqueueOptions,
  ): Promise<EnqueueOutcome[]> {
    const restoring = this.#link.restoring;
    if (restoring !== undefined) await restoring;
    const key =
      this.#dedupe === undefined
        ? ''
        : target.kind === 'queue'
          ? `q/${target.queue}`
          : `t/${target.topic}`;
    const duplicate = this.#dedupe?.claim(key, records, options.dedupeWindowMs);
    const fresh = duplicate === undefined ? records : records.filter((_, i) => !duplicate[i]);
    // Only a record known not to be stored gives its id back: one whose confirm was lost
    // keeps it, so a retry with the same id cannot store a second copy.
    const refused = (some: readonly OutgoingRecord[]) => this.#dedupe?.forget(key, some);
    try {
      if (fresh.length > 0) await this.#enqueue(target, fresh, options, refused);
      if (duplicate === undefined) return records.map(() => 'stored');
      return records.map((_, i) => (duplicate[i] ? 'duplicate' : 'stored'));
    } catch (error) {
      if (error instanceof QueueMissingError) this.#topology.forget(error.queue);
      if (target.kind === 'queue') this.#forgetIfMissing(error, target);
      if (isSluiceError(error)) throw error;
      throw new EngineUnavailableError(`publish to RabbitMQ failed: ${String(error)}`, {
        cause: error,
      });
    }
  }

  /** Publishes `records`, each confirmed; calls `refused` with those surely not stored. */
  async #enqueue(
    target: Target,
    records: readonly OutgoingRecord[],
    options: EnqueueOptions,
    refused: (some: readonly OutgoingRecord[]) => void,
  ): Promise<void> {
    const now = Date.now();
    let exchange = '';
    let routingKey = '';
    try {
      if (target.kind === 'queue') {
        routingKey = this.#topology.declared(target) ?? (await this.#topology.queue(target));
        const counting = this.#room.check(
          routingKey,
          target.queue,
          records.length,
          options.maxLength,
          this.#countStored,
        );
        if (counting !== undefined) await counting;
      } else {
        exchange = await this.#topology.topic(target.topic);
      }
    } catch (error) {
      refused(records);
      throw error;
    }
    const publish = async (record: OutgoingRecord): Promise<void> => {
      const stored = publishOptions(fromOutgoing(record, now));
      try {
        if (record.delayMs > 0) {
          const queue = await this.#topology.delayQueue(target, delayBucket(record.delayMs));
          await confirmPublish(this.#link, '', queue, record.body, stored);
        } else {
          await confirmPublish(this.#link, exchange, routingKey, record.body, stored);
        }
      } catch (error) {
        if (!(error instanceof OutcomeUnknownError)) refused([record]);
        throw error;
      }
    };
    const only = records.length === 1 ? records[0]! : undefined;
    if (only !== undefined) {
      // The common case, without a batch's array of promises.
      await publish(only);
    } else {
      // Every outcome is known (or known to be unknown) before the batch settles.
      const settled = await Promise.allSettled(records.map(publish));
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
    }
    this.#consumers.notify(target.kind === 'queue' ? target.queue : undefined);
  }

  async createGroup(topic: string, group: string): Promise<void> {
    await this.#topology.queue({ kind: 'subscription', topic, group });
  }

  async claim(source: Source, request: ClaimRequest): Promise<ClaimResult> {
    try {
      return await this.#claim(source, request);
    } catch (error) {
      this.#forgetIfMissing(error, source);
      throw error;
    }
  }

  async #claim(source: Source, request: ClaimRequest): Promise<ClaimResult> {
    const queue = this.#topology.declared(source) ?? (await this.#topology.queue(source));
    const sub = this.#consumers.forClaim(source, request.signal);
    if (sub !== undefined) {
      if (!sub.started || sub.channel === undefined) await sub.start(request.max);
      const channel = sub.channel;
      if (channel === undefined) return { deliveries: [] };
      const deliveries = sub
        .take(request.max)
        .map((m) => this.#leases.hold(channel, m, queue, request.leaseMs));
      return { deliveries };
    }
    return { deliveries: await this.#pull(queue, request) };
  }

  async ack(_source: Source, receipts: readonly string[]): Promise<void> {
    const batch: Held[] = [];
    for (const receipt of receipts) {
      const held = this.#leases.take(receipt);
      if (held !== undefined) batch.push(held);
    }
    if (batch.length === 0) return;
    const channels = ackBatch(batch, (channel) => {
      const buffered = this.#consumers.lowestBufferedTag(channel);
      return buffered === undefined
        ? undefined
        : Math.min(buffered, this.#leases.lowestTagOn(channel));
    });
    for (const channel of channels) this.#consumers.settled(channel);
  }

  async release(source: Source, receipt: string, options: ReleaseOptions): Promise<void> {
    const owner = this.#consumers.ownerOf(this.#leases.channelOf(receipt));
    // Releases happen as a consumer stops: stop its pushes first, or they come straight back.
    if (owner !== undefined && (!options.countAttempt || owner.retired))
      await this.#consumers.drain(owner);
    const held = this.#leases.pin(receipt);
    if (held === undefined) return;
    if (options.delayMs <= 0 && options.countAttempt) {
      this.#leases.take(receipt);
      settle(held, (ch, m) => ch.nack(m, false, true));
      this.#consumers.settled(held.channel);
      this.#consumers.notify(sourceName(source));
      return;
    }
    const attempts = held.attempt - (options.countAttempt ? 0 : 1);
    try {
      const queue =
        options.delayMs > 0
          ? await this.#topology.delayQueue(source, delayBucket(options.delayMs))
          : held.queue;
      await this.#copy(held.message, queue, { [h.attempts]: attempts });
    } catch (error) {
      this.#leases.take(receipt);
      settle(held, (ch, m) => ch.nack(m, false, true));
      throw error;
    }
    this.#leases.take(receipt);
    settle(held, (ch, m) => ch.ack(m));
    this.#consumers.settled(held.channel);
    this.#consumers.notify(sourceName(source));
  }

  async extendLease(
    _source: Source,
    receipts: readonly string[],
    leaseMs: number,
  ): Promise<string[]> {
    return receipts.filter((receipt) => !this.#leases.extend(receipt, leaseMs));
  }

  async deadLetter(source: Source, receipt: string, error: string): Promise<void> {
    const held = this.#leases.pin(receipt);
    if (held === undefined) return;
    try {
      await this.#copy(held.message, this.#names.deadLetters(source), {
        [h.attempts]: held.attempt,
        [h.error]: error,
        [h.failedAt]: Date.now(),
      });
    } catch (failure) {
      this.#leases.take(receipt);
      settle(held, (ch, m) => ch.nack(m, false, true));
      throw failure;
    }
    this.#leases.take(receipt);
    settle(held, (ch, m) => ch.ack(m));
    this.#consumers.settled(held.channel);
  }

  onWork(source: Source, listener: () => void): () => void {
    return this.#consumers.register(source, this.#names.queue(source), listener);
  }

  async stats(source: Source): Promise<QueueStats> {
    try {
      return await this.#stats(source);
    } catch (error) {
      this.#forgetIfMissing(error, source);
      throw error;
    }
  }

  /** A 404 means the queue was deleted behind the driver: declare it again next time. */
  #forgetIfMissing(error: unknown, source: Source): void {
    if (replyCode(error) === 404) this.#topology.forget(this.#names.queue(source));
  }

  /**
   * `depth` and `deadLettered` are the broker's ready counts. AMQP 0-9-1 does not report
   * unacknowledged counts or message ages, so `inFlight` and `oldestAgeMs` cover this
   * driver's own deliveries, and `delayed` the delay queues this driver has used: `scope`
   * says so (see `scope` below). With the management API, `inFlight` and `delayed` count
   * the whole queue; `oldestAgeMs` stays local (quorum queues report no head timestamp).
   */
  async #stats(source: Source): Promise<QueueStats> {
    const queue = await this.#topology.queue(source);
    const ch = await this.#link.shared('ops');
    const depth = (await ch.checkQueue(queue)).messageCount;
    const deadLettered = (await ch.checkQueue(this.#names.deadLetters(source))).messageCount;
    const { oldestAgeMs, inFlight } = this.#held(queue);
    if (this.#management !== undefined) {
      const whole = await this.#management.figures(queue);
      return {
        depth,
        inFlight: whole.unacknowledged,
        delayed: whole.delayed,
        oldestAgeMs,
        deadLettered,
        scope: managedScope,
      };
    }
    let delayed = 0;
    for (const bucket of this.#topology.bucketsOf(source)) {
      const name = await this.#topology.delayQueue(source, bucket);
      delayed += (await ch.checkQueue(name)).messageCount;
    }
    return { depth, inFlight, delayed, oldestAgeMs, deadLettered, scope };
  }

  /** The messages this driver holds from `queue` (leased or buffered) and the oldest's age. */
  #held(queue: string): { readonly inFlight: number; readonly oldestAgeMs: number } {
    const now = Date.now();
    let oldest = now;
    let inFlight = 0;
    for (const held of this.#leases.heldOn(queue)) {
      inFlight++;
      oldest = Math.min(oldest, held.publishedAt);
    }
    for (const sub of this.#consumers.on(queue)) {
      inFlight += sub.buffer.length;
      for (const m of sub.buffer) oldest = Math.min(oldest, decode(m).publishedAt);
    }
    return { inFlight, oldestAgeMs: now - oldest };
  }

  /** Wakes this process's consumers of `source` (after a replay stored messages there). */
  notify(source: Source): void {
    this.#consumers.notify(sourceName(source));
  }

  async close(): Promise<void> {
    await this.#consumers.close();
    this.#leases.clear();
    // Closing the connection returns every unacknowledged delivery to its queue.
    await this.#link.close();
  }

  /** A claim from no consumer loop: messages pushed but unclaimed first, then basic.get. */
  async #pull(queue: string, request: ClaimRequest): Promise<Delivery[]> {
    const deliveries: Delivery[] = [];
    for (const sub of this.#consumers.on(queue)) {
      if (sub.channel === undefined || sub.retired) continue;
      const channel = sub.channel;
      for (const m of sub.take(request.max - deliveries.length)) {
        deliveries.push(this.#leases.hold(channel, m, queue, request.leaseMs));
      }
    }
    const ch = await this.#link.shared('get');
    while (deliveries.length < request.max) {
      const message = await ch.get(queue, { noAck: false });
      if (message === false) break;
      deliveries.push(this.#leases.hold(ch, message, queue, request.leaseMs));
    }
    if (!this.#tracked.has(ch)) {
      this.#tracked.add(ch);
      ch.once('close', () => this.#leases.dropChannel(ch));
    }
    return deliveries;
  }

  readonly #tracked = new WeakSet<Channel>();

  /** Ready in the queue plus held unacknowledged here: what counts against its maxLength. */
  readonly #countStored = async (queue: string): Promise<number> => {
    const ch = await this.#link.shared('ops');
    const ready = (await ch.checkQueue(queue)).messageCount;
    let held = this.#leases.heldOn(queue).length;
    for (const sub of this.#consumers.on(queue)) held += sub.buffer.length;
    return ready + held;
  };

  /** Stores a copy of a delivered message in `queue` (confirmed), with extra headers. */
  async #copy(message: Message, queue: string, extra: Record<string, string | number>) {
    const stored = decode(message);
    await confirmPublish(this.#link, '', queue, stored.body, publishOptions(stored, extra));
  }
}

/** What AMQP 0-9-1 lets a client count, without the management plugin's HTTP API. */
const scope: QueueStats['scope'] = {
  depth: 'queue',
  inFlight: 'local',
  delayed: 'local',
  oldestAgeMs: 'local',
  deadLettered: 'queue',
};

/** With the management plugin's HTTP API (the `managementUrl` option). */
const managedScope: QueueStats['scope'] = { ...scope, inFlight: 'queue', delayed: 'queue' };

function settle(held: Held, act: (channel: Channel, message: Message) => void): void {
  try {
    act(held.channel, held.message);
  } catch {
    // The channel closed under the delivery: the broker requeues it, as for a crash.
  }
}
