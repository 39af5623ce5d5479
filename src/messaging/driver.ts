/**
 * The storage primitives a messaging engine provides. Everything with behaviour (the
 * consumer loop, retries and backoff, dead-letter policy, lease renewal, prefetch and
 * concurrency, shutdown, payload encoding, tracing) lives above this interface, once, so a
 * driver only stores, claims and moves records. Bodies are opaque strings to a driver.
 */

/** Where a consumer reads from: a queue, or one group's share of a topic. */
export type Source =
  | { readonly kind: 'queue'; readonly queue: string }
  | { readonly kind: 'subscription'; readonly topic: string; readonly group: string };

/** Where a producer writes: a queue, or a topic (fanned out to each of its groups). */
export type Target =
  | { readonly kind: 'queue'; readonly queue: string }
  | { readonly kind: 'topic'; readonly topic: string };

/** What every record carries, on its way in, out, to the dead letters or in a stream. */
export interface RecordFields {
  readonly id: string;
  readonly key: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface OutgoingRecord extends RecordFields {
  /** The producer chose the id: check it against the dedupe window (generated ids are unique). */
  readonly dedupe: boolean;
  readonly delayMs: number;
}

export interface EnqueueOptions {
  readonly dedupeWindowMs: number;
  /** Messages stored per queue (per group for a topic), in flight and delayed included. */
  readonly maxLength: number;
  /** `reject` throws QueueFullError and stores nothing; `drop-oldest` makes room. */
  readonly overflow: 'reject' | 'drop-oldest';
  readonly signal?: AbortSignal | undefined;
}

/** One per record, in order. */
export type EnqueueOutcome = 'stored' | 'duplicate';

export interface ClaimRequest {
  readonly max: number;
  readonly leaseMs: number;
  /** Deliver only the oldest unfinished message of each key, so one key has one in flight. */
  readonly orderByKey: boolean;
  readonly signal?: AbortSignal | undefined;
}

export interface Delivery extends RecordFields {
  /** Opaque handle on this lease; a stale one (lease expired, redelivered) acks nothing. */
  readonly receipt: string;
  /** Deliveries so far, this one included (1 on first delivery). */
  readonly attempt: number;
  readonly publishedAt: number;
}

export interface ClaimResult {
  readonly deliveries: Delivery[];
  /** When fewer than `max` were found: the earliest time a stored message becomes due. */
  readonly nextDueAt?: number | undefined;
}

export interface ReleaseOptions {
  readonly delayMs: number;
  /** False for a message never handed to a handler (released on shutdown). */
  readonly countAttempt: boolean;
  readonly error?: string | undefined;
}

/**
 * What a figure of QueueStats counts: `queue`, every process's messages (what a monitor
 * wants); `local`, only what this driver instance can see (its own deliveries, the delay
 * queues it has used), where the engine offers no queue-wide figure. A `local` figure read
 * by a process that holds nothing is 0 whatever other consumers hold.
 */
export type StatScope = 'queue' | 'local';

export interface QueueStats {
  /** Ready to deliver now. */
  readonly depth: number;
  readonly inFlight: number;
  readonly delayed: number;
  /** Age of the oldest message not yet acknowledged; 0 when empty. */
  readonly oldestAgeMs: number;
  readonly deadLettered: number;
  /**
   * Messages not finished (ready, delayed and in flight), from a driver whose engine counts
   * this total for the whole queue though not each part (NATS cannot tell another process's
   * delayed messages from its in-flight ones). Absent, it is the sum of the parts: see lagOf.
   */
  readonly lag?: number;
  /** The scope of each figure above (of `lag`, when the driver gives one). */
  readonly scope: Readonly<
    Record<'depth' | 'inFlight' | 'delayed' | 'oldestAgeMs' | 'deadLettered', StatScope> & {
      lag?: StatScope;
    }
  >;
}

/** Every figure counts the whole queue. */
export const queueWide: QueueStats['scope'] = {
  depth: 'queue',
  inFlight: 'queue',
  delayed: 'queue',
  oldestAgeMs: 'queue',
  deadLettered: 'queue',
};

/**
 * The messages not finished and the scope of that figure: the driver's own, else depth,
 * delayed and in flight added up, which counts the whole queue only when each part does.
 */
export function lagOf(stats: QueueStats): { readonly lag: number; readonly scope: StatScope } {
  const { scope } = stats;
  if (stats.lag !== undefined) return { lag: stats.lag, scope: scope.lag ?? 'local' };
  const whole = scope.depth === 'queue' && scope.delayed === 'queue' && scope.inFlight === 'queue';
  return { lag: stats.depth + stats.delayed + stats.inFlight, scope: whole ? 'queue' : 'local' };
}

export interface DeadLetterRecord extends RecordFields {
  readonly attempt: number;
  readonly publishedAt: number;
  readonly failedAt: number;
  readonly error: string;
}

export type StreamRecord = RecordFields;

export interface StreamEntryRecord extends StreamRecord {
  readonly offset: number;
  readonly publishedAt: number;
}

export interface Retention {
  readonly maxCount?: number | undefined;
  readonly maxAgeMs?: number | undefined;
  readonly maxBytes?: number | undefined;
}

/** The bytes an entry counts for under retention by `maxBytes`, the same on every driver. */
export function retainedBytes(record: StreamRecord): number {
  let headerBytes = 0;
  for (const [k, v] of Object.entries(record.headers)) headerBytes += k.length + v.length;
  return (
    Buffer.byteLength(record.body) + record.id.length + (record.key?.length ?? 0) + headerBytes
  );
}

/** Where reading starts: an offset, the first entry at or after a time, or the ends. */
export type StreamPosition = 'earliest' | 'latest' | { readonly time: number };

/**
 * What a driver offers. The shared layer checks these before calling and throws
 * `SLUICE_UNSUPPORTED` for anything not offered, so no driver differs silently.
 */
export interface DriverCapabilities {
  /** Survives a process kill once `enqueue` resolved. */
  readonly durable: boolean;
  readonly delay: boolean;
  readonly orderByKey: boolean;
  readonly dedupe: boolean;
  readonly overflow: readonly ('reject' | 'drop-oldest')[];
  readonly topics: boolean;
  readonly deadLetterReplay: boolean;
  readonly streams: boolean;
  readonly streamRetention: readonly ('count' | 'age' | 'bytes')[];
  readonly streamReadFromTime: boolean;
}

/**
 * Every capability offered: a driver spreads this and states only what its engine lacks,
 * so the differences between drivers read at a glance.
 */
export const everyCapability: DriverCapabilities = {
  durable: true,
  delay: true,
  orderByKey: true,
  dedupe: true,
  overflow: ['reject', 'drop-oldest'],
  topics: true,
  deadLetterReplay: true,
  streams: true,
  streamRetention: ['count', 'age', 'bytes'],
  streamReadFromTime: true,
};

export interface MessagingDriver {
  readonly name: string;
  readonly capabilities: DriverCapabilities;

  /** Resolves once every record is durable (or, for a topic, stored for every group). */
  enqueue(
    target: Target,
    records: readonly OutgoingRecord[],
    options: EnqueueOptions,
  ): Promise<EnqueueOutcome[]>;
  /** Registers a group: from now on it receives every event published to the topic. */
  createGroup(topic: string, group: string): Promise<void>;
  claim(source: Source, request: ClaimRequest): Promise<ClaimResult>;
  ack(source: Source, receipts: readonly string[]): Promise<void>;
  release(source: Source, receipt: string, options: ReleaseOptions): Promise<void>;
  /** Extends each lease to now + leaseMs; returns the receipts whose lease was already lost. */
  extendLease(source: Source, receipts: readonly string[], leaseMs: number): Promise<string[]>;
  deadLetter(source: Source, receipt: string, error: string): Promise<void>;
  /** Calls `listener` (perhaps spuriously) when the source may have work; returns unsubscribe. */
  onWork(source: Source, listener: () => void): () => void;
  stats(source: Source): Promise<QueueStats>;
  listDeadLetters(source: Source, limit: number): Promise<DeadLetterRecord[]>;
  /** Moves dead letters (all, or those ids) back to the source as fresh messages. */
  replayDeadLetters(source: Source, ids: readonly string[] | undefined): Promise<number>;
  purgeDeadLetters(source: Source, ids: readonly string[] | undefined): Promise<number>;

  /** Returns the offset given to each record. */
  append(stream: string, records: readonly StreamRecord[], retention: Retention): Promise<number[]>;
  read(stream: string, fromOffset: number, limit: number): Promise<StreamEntryRecord[]>;
  /** `latest` is the offset the next append will get. */
  resolvePosition(stream: string, position: StreamPosition): Promise<number>;
  /** Records `offset` as the next one `group` will read. */
  commitOffset(stream: string, group: string, offset: number): Promise<void>;
  committedOffset(stream: string, group: string): Promise<number | undefined>;
  onAppend(stream: string, listener: () => void): () => void;

  close(): Promise<void>;
}

/** The queue and topic-group operations of a driver (see MessagingDriver for each contract). */
export type QueueParts = Pick<
  MessagingDriver,
  | 'enqueue'
  | 'createGroup'
  | 'claim'
  | 'ack'
  | 'release'
  | 'extendLease'
  | 'deadLetter'
  | 'onWork'
  | 'stats'
>;

/** A driver's dead-letter queues: list, replay and purge per source. */
export interface DeadLetterParts {
  list(source: Source, limit: number): Promise<DeadLetterRecord[]>;
  replay(source: Source, ids: readonly string[] | undefined): Promise<number>;
  purge(source: Source, ids: readonly string[] | undefined): Promise<number>;
}

export type StreamParts = Pick<
  MessagingDriver,
  'append' | 'read' | 'resolvePosition' | 'commitOffset' | 'committedOffset' | 'onAppend'
>;

/**
 * What a driver is made of, handed to `assembleDriver`, which puts the closed check and
 * the refusal of streams a driver does not offer above the parts, once for every driver.
 */
export interface DriverParts {
  readonly name: string;
  readonly capabilities: DriverCapabilities;
  readonly queues: QueueParts;
  readonly deadLetters: DeadLetterParts;
  /** Absent when `capabilities.streams` is false; `noStreams` then says why. */
  readonly streams?: StreamParts | undefined;
  readonly noStreams?: string | undefined;
  /** Called once, by the first close(). */
  close(): Promise<void>;
}

/** A stable string naming a source, for maps, logs and idempotency keys. */
export function sourceName(source: Source): string {
  return source.kind === 'queue' ? source.queue : `${source.topic}/${source.group}`;
}
