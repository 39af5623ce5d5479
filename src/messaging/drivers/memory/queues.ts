import { QueueFullError } from '../../../core/errors.js';
import type {
  ClaimRequest,
  ClaimResult,
  DeadLetterParts,
  DeadLetterRecord,
  Delivery,
  EnqueueOptions,
  EnqueueOutcome,
  OutgoingRecord,
  QueueParts,
  QueueStats,
  ReleaseOptions,
  Source,
  Target,
} from '../../driver.js';
import { queueWide } from '../../driver.js';

interface Entry {
  readonly seq: number;
  readonly record: OutgoingRecord;
  readonly publishedAt: number;
  availableAt: number;
  attempt: number;
  /** 0 when not leased. */
  lease: number;
}

interface Box {
  readonly messages: Map<number, Entry>;
  readonly dead: DeadLetterRecord[];
  readonly listeners: Set<() => void>;
}

const maxDeadLetters = 100_000;

/** Queues, topic groups and their dead letters in maps. */
export class MemoryQueues implements QueueParts {
  readonly #boxes = new Map<string, Box>();
  readonly #groups = new Map<string, Set<string>>();
  readonly #dedupe = new Map<string, Map<string, number>>();
  #seq = 0;
  #leases = 0;

  readonly deadLetters: DeadLetterParts = {
    list: async (source, limit) => this.#box(source).dead.slice(0, limit),
    replay: async (source, ids) => this.#replay(this.#box(source), ids),
    purge: async (source, ids) => this.#takeDead(this.#box(source), ids).length,
  };

  async enqueue(
    target: Target,
    records: readonly OutgoingRecord[],
    options: EnqueueOptions,
  ): Promise<EnqueueOutcome[]> {
    const now = Date.now();
    const targetKey = target.kind === 'queue' ? `q:${target.queue}` : `t:${target.topic}`;
    const boxes =
      target.kind === 'queue'
        ? [this.#box({ kind: 'queue', queue: target.queue })]
        : [...(this.#groups.get(target.topic) ?? [])].map((group) =>
            this.#box({ kind: 'subscription', topic: target.topic, group }),
          );
    const outcomes = records.map((r) =>
      this.#seen(targetKey, r, now, options) ? 'duplicate' : 'stored',
    );
    const fresh = records.filter((_, i) => outcomes[i] === 'stored');
    for (const box of boxes) this.#makeRoom(box, fresh.length, options);
    for (const record of fresh) {
      if (record.dedupe) this.#remember(targetKey, record.id, now + options.dedupeWindowMs);
    }
    for (const box of boxes) {
      for (const record of fresh) {
        const seq = ++this.#seq;
        const availableAt = now + record.delayMs;
        box.messages.set(seq, { seq, record, publishedAt: now, availableAt, attempt: 0, lease: 0 });
      }
      if (fresh.length > 0) notify(box);
    }
    return outcomes;
  }

  async createGroup(topic: string, group: string): Promise<void> {
    let groups = this.#groups.get(topic);
    if (groups === undefined) {
      groups = new Set();
      this.#groups.set(topic, groups);
    }
    groups.add(group);
  }

  async claim(source: Source, request: ClaimRequest): Promise<ClaimResult> {
    const box = this.#box(source);
    const now = Date.now();
    const deliveries: Delivery[] = [];
    const blockedKeys = new Set<string>();
    let nextDueAt: number | undefined;
    for (const entry of box.messages.values()) {
      const { key } = entry.record;
      if (request.orderByKey && key !== undefined) {
        if (blockedKeys.has(key)) continue;
        blockedKeys.add(key);
      }
      if (entry.availableAt > now) {
        if (nextDueAt === undefined || entry.availableAt < nextDueAt) nextDueAt = entry.availableAt;
        continue;
      }
      if (deliveries.length >= request.max) {
        nextDueAt = now;
        break;
      }
      entry.lease = ++this.#leases;
      entry.attempt++;
      entry.availableAt = now + request.leaseMs;
      deliveries.push(toDelivery(entry));
    }
    return { deliveries, nextDueAt };
  }

  async ack(source: Source, receipts: readonly string[]): Promise<void> {
    const box = this.#box(source);
    let removed = 0;
    for (const receipt of receipts) {
      const entry = leased(box, receipt);
      if (entry !== undefined && box.messages.delete(entry.seq)) removed++;
    }
    // An ack can unblock the next message of an ordering key.
    if (removed > 0) notify(box);
  }

  async release(source: Source, receipt: string, options: ReleaseOptions): Promise<void> {
    const box = this.#box(source);
    const entry = leased(box, receipt);
    if (entry === undefined) return;
    entry.lease = 0;
    entry.availableAt = Date.now() + options.delayMs;
    if (!options.countAttempt) entry.attempt--;
    notify(box);
  }

  async extendLease(
    source: Source,
    receipts: readonly string[],
    leaseMs: number,
  ): Promise<string[]> {
    const box = this.#box(source);
    const lost: string[] = [];
    const until = Date.now() + leaseMs;
    for (const receipt of receipts) {
      const entry = leased(box, receipt);
      if (entry === undefined) lost.push(receipt);
      else entry.availableAt = until;
    }
    return lost;
  }

  async deadLetter(source: Source, receipt: string, error: string): Promise<void> {
    const box = this.#box(source);
    const entry = leased(box, receipt);
    if (entry === undefined) return;
    box.messages.delete(entry.seq);
    const { receipt: _, ...delivered } = toDelivery(entry);
    box.dead.push({ ...delivered, failedAt: Date.now(), error });
    if (box.dead.length > maxDeadLetters) box.dead.shift();
    notify(box);
  }

  onWork(source: Source, listener: () => void): () => void {
    const box = this.#box(source);
    box.listeners.add(listener);
    return () => box.listeners.delete(listener);
  }

  async stats(source: Source): Promise<QueueStats> {
    const box = this.#box(source);
    const now = Date.now();
    let depth = 0;
    let inFlight = 0;
    let delayed = 0;
    let oldest = now;
    for (const entry of box.messages.values()) {
      if (entry.lease !== 0 && entry.availableAt > now) inFlight++;
      else if (entry.availableAt > now) delayed++;
      else depth++;
      oldest = Math.min(oldest, entry.publishedAt);
    }
    // The whole queue lives in this process.
    const deadLettered = box.dead.length;
    return { depth, inFlight, delayed, oldestAgeMs: now - oldest, deadLettered, scope: queueWide };
  }

  async close(): Promise<void> {
    for (const box of this.#boxes.values()) box.listeners.clear();
  }

  #box(source: Source): Box {
    const name =
      source.kind === 'queue' ? `q:${source.queue}` : `s:${source.topic}/${source.group}`;
    let box = this.#boxes.get(name);
    if (box === undefined) {
      box = { messages: new Map(), dead: [], listeners: new Set() };
      this.#boxes.set(name, box);
    }
    return box;
  }

  #seen(targetKey: string, record: OutgoingRecord, now: number, options: EnqueueOptions): boolean {
    if (!record.dedupe || options.dedupeWindowMs <= 0) return false;
    const expires = this.#dedupe.get(targetKey)?.get(record.id);
    return expires !== undefined && expires > now;
  }

  #remember(targetKey: string, id: string, expiresAt: number): void {
    let ids = this.#dedupe.get(targetKey);
    if (ids === undefined) {
      ids = new Map();
      this.#dedupe.set(targetKey, ids);
    }
    ids.delete(id);
    ids.set(id, expiresAt);
    // Insertion order is expiry order for one window length: sweep from the front.
    const now = Date.now();
    for (const [oldId, at] of ids) {
      if (at > now) break;
      ids.delete(oldId);
    }
  }

  #makeRoom(box: Box, incoming: number, options: EnqueueOptions): void {
    const excess = box.messages.size + incoming - options.maxLength;
    if (excess <= 0) return;
    if (options.overflow === 'reject' || incoming > options.maxLength) {
      throw new QueueFullError(
        `queue holds ${box.messages.size} of at most ${options.maxLength} messages`,
      );
    }
    let dropped = 0;
    for (const entry of box.messages.values()) {
      if (dropped >= excess) break;
      if (entry.lease !== 0) continue;
      box.messages.delete(entry.seq);
      dropped++;
    }
    if (dropped < excess) throw new QueueFullError('queue is full of messages in flight');
  }

  #replay(box: Box, ids: readonly string[] | undefined): number {
    const chosen = this.#takeDead(box, ids);
    const now = Date.now();
    for (const dead of chosen) {
      const seq = ++this.#seq;
      const record: OutgoingRecord = { ...dead, dedupe: false, delayMs: 0 };
      box.messages.set(seq, {
        seq,
        record,
        publishedAt: dead.publishedAt,
        availableAt: now,
        attempt: 0,
        lease: 0,
      });
    }
    if (chosen.length > 0) notify(box);
    return chosen.length;
  }

  #takeDead(box: Box, ids: readonly string[] | undefined): DeadLetterRecord[] {
    if (ids === undefined) return box.dead.splice(0);
    const wanted = new Set(ids);
    const taken = box.dead.filter((d) => wanted.has(d.id));
    const kept = box.dead.filter((d) => !wanted.has(d.id));
    box.dead.length = 0;
    box.dead.push(...kept);
    return taken;
  }
}

function leased(box: Box, receipt: string): Entry | undefined {
  const colon = receipt.indexOf(':');
  const entry = box.messages.get(Number(receipt.slice(0, colon)));
  if (entry === undefined || entry.lease !== Number(receipt.slice(colon + 1))) return undefined;
  return entry;
}

function toDelivery(entry: Entry): Delivery {
  const { id, key, headers, body } = entry.record;
  return {
    receipt: `${entry.seq}:${entry.lease}`,
    id,
    key,
    headers,
    body,
    attempt: entry.attempt,
    publishedAt: entry.publishedAt,
  };
}

function notify(box: Box): void {
  for (const listener of box.listeners) listener();
}
