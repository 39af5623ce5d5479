import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import {
  EngineUnavailableError,
  InvalidArgumentError,
  isSluiceError,
} from '../../../core/errors.js';
import type {
  ClaimRequest,
  ClaimResult,
  DeadLetterParts,
  EnqueueOptions,
  EnqueueOutcome,
  OutgoingRecord,
  QueueStats,
  ReleaseOptions,
  Source,
  StreamParts,
  Target,
} from '../../driver.js';
import { everyCapability, queueWide } from '../../driver.js';
import { AssembledDriver, type DriverStore, storeParts } from '../assemble.js';
import { GroupCommit } from '../group-commit.js';
import { engineUnreachable } from '../unreachable.js';
import { openConnections, Tracked } from './connection.js';
import { RedisDeadLetters } from './dead-letters.js';
import { readDirect } from './direct-reads.js';
import {
  type Batch,
  callArgs,
  type EnqueueHead,
  EnqueueHeads,
  outcomesOf,
} from './enqueue-args.js';
import { Keys } from './keys.js';
import { RedisLogs } from './logs.js';
import { forgetConsumerScript, statsScript } from './lua-admin.js';
import { claimScript } from './lua-claim.js';
import { createGroupScript, enqueueScript } from './lua-enqueue.js';
import { leaseHorizonMs } from './lua-prelude.js';
import { ackScript, deadLetterScript, extendScript, releaseScript } from './lua-settle.js';
import { type RedisDriverOptions, resolveRedisOptions } from './options.js';
import { ackArgs, type Fields, toDeadLetter, toDelivery } from './records.js';
import { Script } from './script.js';
import { Wakeups } from './wakeups.js';

const scripts = {
  enqueue: new Script(enqueueScript),
  createGroup: new Script(createGroupScript),
  claim: new Script(claimScript),
  ack: new Script(ackScript),
  release: new Script(releaseScript),
  extend: new Script(extendScript),
  deadLetter: new Script(deadLetterScript),
  stats: new Script(statsScript),
  forgetConsumer: new Script(forgetConsumerScript),
};
const chunk = 1000;
const maxTrackedBoxes = 10_000;

type RawDelivery = [string, number, number, Fields];

/** Opens both connections (failing fast when Redis does not answer) and returns the driver. */
export async function openRedisDriver(
  url: string,
  options: RedisDriverOptions = {},
): Promise<RedisDriver> {
  if (typeof url !== 'string' || !/^rediss?:\/\//.test(url)) {
    throw new InvalidArgumentError(
      `the redis driver needs url: redis://host:port, got ${JSON.stringify(url)}`,
    );
  }
  const { prefix, maxDeadLetters, sweepIntervalMs, redis } = resolveRedisOptions(options);
  const name = `sluice-${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const { command, subscriber } = await openConnections(url, redis, name);
  const driver = new RedisDriver(
    new RedisStore(command, subscriber, prefix, name, maxDeadLetters, sweepIntervalMs),
  );
  try {
    await Promise.all([command.connect(), subscriber.connect()]);
  } catch (error) {
    await driver.close();
    throw engineUnreachable('Redis', url, error);
  }
  return driver;
}

/** Redis Streams with consumer groups; see lua-prelude.ts for the layout of the keys. */
export class RedisDriver extends AssembledDriver {
  readonly keys: Keys;
  /** The connection name of both connections begins with this (`-cmd`, `-sub`). */
  readonly connectionName: string;
  readonly #store: RedisStore;

  constructor(store: RedisStore) {
    super(storeParts('redis', store));
    this.#store = store;
    this.keys = store.keys;
    this.connectionName = store.connectionName;
  }

  /** Connection health, for probes and tests. */
  get state(): { command: boolean; subscriber: boolean; reconnects: number } {
    return this.#store.state;
  }
}

/** The queue, dead-letter and stream work on the two connections. */
class RedisStore implements DriverStore {
  readonly capabilities = { ...everyCapability, streamRetention: ['count', 'age'] as const };
  readonly keys: Keys;
  /** The connection name of both connections begins with this (`-cmd`, `-sub`). */
  readonly connectionName: string;
  readonly #command: Tracked;
  readonly #subscriber: Tracked;
  readonly #wakeups: Wakeups;
  readonly #logs: RedisLogs;
  readonly #dead: RedisDeadLetters;
  readonly #maxDead: number;
  readonly #sweepMs: number;
  readonly #groupCommit: GroupCommit<EnqueueHead, Batch, EnqueueOutcome[]>;
  readonly #heads: EnqueueHeads;
  /** Per box read directly, when this process must next run the full claim script. */
  readonly #sweepAt = new Map<string, number>();
  /** Boxes this driver has claimed from: on close it leaves their consumer groups. */
  readonly #claimedFrom = new Set<string>();
  /** Topic groups this driver created, made again after each reconnect. */
  readonly #groups = new Map<string, { topic: string; group: string }>();
  /** Set while the groups are made again after a reconnect: publishes wait for it. */
  #regrouping: Promise<void> | undefined;

  readonly deadLetters: DeadLetterParts = {
    list: async (source, limit) => {
      const entries = await this.#dead.list(this.keys.box(source), limit);
      return entries.map(([, fields]) => toDeadLetter(fields));
    },
    replay: (source, ids) => this.#dead.replay(this.keys.box(source), ids),
    purge: (source, ids) => this.#dead.purge(this.keys.box(source), ids),
  };

  readonly streams: StreamParts = {
    append: (stream, records, retention) => this.#logs.append(stream, records, retention),
    read: (stream, fromOffset, limit) => this.#logs.read(stream, fromOffset, limit),
    resolvePosition: (stream, position) => this.#logs.resolve(stream, position),
    commitOffset: (stream, group, offset) => this.#logs.commit(stream, group, offset),
    committedOffset: (stream, group) => this.#logs.committed(stream, group),
    onAppend: (stream, listener) => this.#wakeups.listen(this.#logs.channel(stream), listener),
  };

  constructor(
    command: Redis,
    subscriber: Redis,
    prefix: string,
    connectionName: string,
    maxDead: number,
    sweepMs = 100,
  ) {
    this.keys = new Keys(prefix);
    this.#heads = new EnqueueHeads(this.keys);
    this.#sweepMs = sweepMs;
    this.connectionName = connectionName;
    this.#maxDead = maxDead;
    this.#wakeups = new Wakeups(subscriber);
    // A Redis that restarted without persistence has lost every group: without them again,
    // a topic's events would reach no group at all.
    this.#command = new Tracked(command, 'command', () => this.#regroup());
    this.#subscriber = new Tracked(subscriber, 'subscriber', () => this.#wakeups.fireAll());
    this.#logs = new RedisLogs(command, this.keys);
    this.#dead = new RedisDeadLetters(command);
    // One call in flight (the default): Redis runs a connection's calls one after another,
    // so more in flight would save a round trip at most, while splitting the waiting
    // publishes into smaller batches; and each script call has a fixed cost (a socket write
    // and read on both sides, the script's reads and its wake-up PUBLISH, which the
    // consumers' connections read) that a larger batch shares. Gathering for one turn of the
    // event loop keeps the batches whole: without it, the first publisher to go again after
    // a call returns goes alone, and every other call carries one message.
    this.#groupCommit = new GroupCommit(
      async (head, batches) =>
        outcomesOf(
          await scripts.enqueue.run(command, head.route, callArgs(head, batches)),
          batches,
        ),
      { gather: true },
    );
  }

  /** Connection health, for probes and tests. */
  get state(): { command: boolean; subscriber: boolean; reconnects: number } {
    return {
      command: this.#command.ready,
      subscriber: this.#subscriber.ready,
      reconnects: this.#command.reconnects + this.#subscriber.reconnects,
    };
  }

  async enqueue(
    target: Target,
    records: readonly OutgoingRecord[],
    options: EnqueueOptions,
  ): Promise<EnqueueOutcome[]> {
    if (records.length === 0) return [];
    const head = this.#heads.of(target, options);
    try {
      if (!this.#command.ready) await this.#command.whenReady();
      if (this.#regrouping !== undefined) await this.#regrouped();
      return await this.#groupCommit.enqueue(head, records);
    } catch (error) {
      // Anything but a reply from Redis (or our own error) means the command never ran or
      // its reply was lost with the connection.
      if (isSluiceError(error) || (error instanceof Error && error.name === 'ReplyError')) {
        throw error;
      }
      throw new EngineUnavailableError(`publish to Redis failed: ${String(error)}`, {
        cause: error,
      });
    }
  }

  async createGroup(topic: string, group: string): Promise<void> {
    await this.#createGroup(topic, group);
    this.#groups.set(`${topic}\u0000${group}`, { topic, group });
  }

  async #createGroup(topic: string, group: string): Promise<void> {
    const base = this.keys.box({ kind: 'subscription', topic, group });
    const groups = this.keys.groups(topic);
    await scripts.createGroup.run(this.#client, groups, [groups, base, group]);
  }

  #regroup(): void {
    const groups = [...this.#groups.values()];
    const run: Promise<void> = Promise.all(
      groups.map((g) => this.#createGroup(g.topic, g.group)),
    ).then(() => {
      if (this.#regrouping === run) this.#regrouping = undefined;
    });
    this.#regrouping = run;
    // Awaited by the next publish; until then its failure is no crash.
    run.catch(() => {});
  }

  /** A failed attempt is made again for the next publish. */
  async #regrouped(): Promise<void> {
    const run = this.#regrouping;
    try {
      await run;
    } catch (error) {
      if (this.#regrouping === run) this.#regroup();
      throw error;
    }
  }

  async claim(source: Source, request: ClaimRequest): Promise<ClaimResult> {
    const base = this.keys.box(source);
    if (this.#claimedFrom.size < maxTrackedBoxes) this.#claimedFrom.add(base);
    const leaseMs = Math.ceil(request.leaseMs);
    if (!request.orderByKey && leaseMs === leaseHorizonMs) {
      const direct = await this.#claimDirect(base, request.max);
      if (direct !== undefined) return direct;
    }
    return this.#claimByScript(base, request.max, leaseMs, request.orderByKey);
  }

  /**
   * A direct read while this process swept the box less than `sweepIntervalMs` ago and nothing
   * delayed or released has fallen due; undefined when the script must run instead.
   */
  async #claimDirect(base: string, max: number): Promise<ClaimResult | undefined> {
    const sweepAt = this.#sweepAt.get(base);
    if (sweepAt === undefined || Date.now() >= sweepAt) return undefined;
    const read = await readDirect(this.#client, base, this.connectionName, max);
    if (read === undefined) {
      this.#sweepAt.delete(base);
      return undefined;
    }
    const { deliveries, dueAt, serverNow } = read;
    if (dueAt === undefined || dueAt > serverNow) {
      const nextDueAt = dueAt === undefined ? undefined : Date.now() + (dueAt - serverNow);
      return { deliveries, nextDueAt };
    }
    // Delayed or released work is due: the script moves it, now if there is room for more.
    this.#sweepAt.delete(base);
    if (deliveries.length === max) return { deliveries, nextDueAt: Date.now() };
    try {
      const more = await this.#claimByScript(base, max - deliveries.length, leaseHorizonMs, false);
      return { deliveries: [...deliveries, ...more.deliveries], nextDueAt: more.nextDueAt };
    } catch {
      // Those read are leased already: hand them out; the next claim runs the script again.
      return { deliveries, nextDueAt: Date.now() };
    }
  }

  async #claimByScript(
    base: string,
    max: number,
    leaseMs: number,
    ordered: boolean,
  ): Promise<ClaimResult> {
    const [raw, nextDue, serverNow] = (await scripts.claim.run(this.#client, `${base}:s`, [
      base,
      this.connectionName,
      max,
      leaseMs,
      ordered ? 1 : 0,
    ])) as [RawDelivery[], number, number];
    if (nextDue >= 0 && nextDue <= serverNow) this.#sweepAt.delete(base);
    else if (this.#sweepAt.has(base) || this.#sweepAt.size < maxTrackedBoxes) {
      this.#sweepAt.set(base, Date.now() + this.#sweepMs);
    }
    const deliveries = raw.map(([entryId, token, attempt, fields]) =>
      toDelivery(entryId, token, attempt, fields),
    );
    return { deliveries, nextDueAt: nextDue < 0 ? undefined : Date.now() + (nextDue - serverNow) };
  }

  async ack(source: Source, receipts: readonly string[]): Promise<void> {
    const base = this.keys.box(source);
    for (let i = 0; i < receipts.length; i += chunk) {
      const args = ackArgs(base, this.connectionName, receipts.slice(i, i + chunk));
      await scripts.ack.run(this.#client, `${base}:s`, args);
    }
  }

  async release(source: Source, receipt: string, options: ReleaseOptions): Promise<void> {
    const base = this.keys.box(source);
    const delay = Math.max(0, Math.ceil(options.delayMs));
    await scripts.release.run(this.#client, `${base}:s`, [
      base,
      this.connectionName,
      receipt,
      delay,
      options.countAttempt ? 1 : 0,
    ]);
  }

  async extendLease(
    source: Source,
    receipts: readonly string[],
    leaseMs: number,
  ): Promise<string[]> {
    const base = this.keys.box(source);
    const lost: string[] = [];
    for (let i = 0; i < receipts.length; i += chunk) {
      const args = [base, this.connectionName, Math.ceil(leaseMs), ...receipts.slice(i, i + chunk)];
      lost.push(...((await scripts.extend.run(this.#client, `${base}:s`, args)) as string[]));
    }
    return lost;
  }

  async deadLetter(source: Source, receipt: string, error: string): Promise<void> {
    const base = this.keys.box(source);
    await scripts.deadLetter.run(this.#client, `${base}:s`, [
      base,
      this.connectionName,
      receipt,
      error,
      this.#maxDead,
    ]);
  }

  onWork(source: Source, listener: () => void): () => void {
    return this.#wakeups.listen(`${this.keys.box(source)}:w`, listener);
  }

  async stats(source: Source): Promise<QueueStats> {
    const base = this.keys.box(source);
    const [depth, inFlight, delayed, oldest, deadLettered, now] = (await scripts.stats.run(
      this.#client,
      `${base}:s`,
      [base],
    )) as number[];
    return {
      depth: depth!,
      inFlight: inFlight!,
      delayed: delayed!,
      oldestAgeMs: oldest! < 0 ? 0 : Math.max(0, now! - oldest!),
      deadLettered: deadLettered!,
      scope: queueWide,
    };
  }

  async close(): Promise<void> {
    this.#wakeups.clear();
    if (this.#command.ready) {
      const client = this.#client;
      const leave = (base: string) =>
        scripts.forgetConsumer
          .run(client, `${base}:s`, [base, this.connectionName])
          .catch(() => {});
      await Promise.all([...this.#claimedFrom].map(leave));
    }
    await Promise.all([quit(this.#command.client), quit(this.#subscriber.client)]);
  }

  get #client(): Redis {
    return this.#command.client;
  }
}

async function quit(client: Redis): Promise<void> {
  if (client.status === 'ready') {
    try {
      await client.quit();
      return;
    } catch {
      // Fall through: drop the socket.
    }
  }
  client.disconnect();
}
