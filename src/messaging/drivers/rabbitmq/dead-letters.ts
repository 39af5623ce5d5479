import type { Channel, GetMessage } from 'amqplib';
import type { DeadLetterParts, DeadLetterRecord, Source } from '../../driver.js';
import type { Link } from './link.js';
import type { Names } from './names.js';
import { confirmPublish } from './publish.js';
import { deadLetterOf, decode, publishOptions } from './records.js';
import type { Topology } from './topology.js';

/** Looks at one message; true when it acked (removed) it. */
type Visit = (ch: Channel, message: GetMessage) => Promise<boolean>;

/**
 * The dead-letter queue is a quorum queue read with basic.get. Messages taken only to be
 * looked at are never acked: closing the channel puts them back where they were.
 *
 * Moving a message here (publish the copy, then ack the original) is not atomic, and
 * RabbitMQ cannot de-duplicate: a consumer killed between the two leaves the original to
 * be redelivered and dead-lettered again. One id is one dead letter: list, replay and
 * purge treat the copies of an id as one, and replay removes them all.
 */
export class DeadLetterQueue implements DeadLetterParts {
  readonly #link: Link;
  readonly #topology: Topology;
  readonly #names: Names;
  /** Called after a replay stored messages in the source's queue. */
  readonly #replayed: (source: Source) => void;

  constructor(link: Link, topology: Topology, names: Names, replayed: (source: Source) => void) {
    this.#link = link;
    this.#topology = topology;
    this.#names = names;
    this.#replayed = replayed;
  }

  async list(source: Source, limit: number): Promise<DeadLetterRecord[]> {
    await this.#topology.queue(source);
    return this.#list(this.#names.deadLetters(source), limit);
  }

  async replay(source: Source, ids: readonly string[] | undefined): Promise<number> {
    const queue = await this.#topology.queue(source);
    const n = await this.#replay(this.#names.deadLetters(source), queue, ids);
    if (n > 0) this.#replayed(source);
    return n;
  }

  async purge(source: Source, ids: readonly string[] | undefined): Promise<number> {
    await this.#topology.queue(source);
    return this.#purge(this.#names.deadLetters(source), ids);
  }

  async #list(dlq: string, limit: number): Promise<DeadLetterRecord[]> {
    const out: DeadLetterRecord[] = [];
    const seen = new Set<string>();
    await this.#scan(dlq, limit, async (_ch, message) => {
      const record = deadLetterOf(message);
      if (!seen.has(record.id)) out.push(record);
      seen.add(record.id);
      return false;
    });
    return out;
  }

  /** Publishes the chosen dead letters to `queue` as fresh messages (once per id), then acks them. */
  async #replay(dlq: string, queue: string, ids: readonly string[] | undefined): Promise<number> {
    const wanted = ids === undefined ? undefined : new Set(ids);
    const replayed = new Set<string>();
    await this.#scan(dlq, Number.MAX_SAFE_INTEGER, async (ch, message) => {
      const stored = decode(message);
      if (wanted !== undefined && !wanted.has(stored.id)) return false;
      if (!replayed.has(stored.id)) {
        await confirmPublish(this.#link, '', queue, stored.body, publishOptions(stored));
        replayed.add(stored.id);
      }
      ch.ack(message);
      return true;
    });
    return replayed.size;
  }

  async #purge(dlq: string, ids: readonly string[] | undefined): Promise<number> {
    if (ids === undefined) {
      const ch = await this.#link.shared('ops');
      return (await ch.purgeQueue(dlq)).messageCount;
    }
    const wanted = new Set(ids);
    const purged = new Set<string>();
    await this.#scan(dlq, Number.MAX_SAFE_INTEGER, async (ch, message) => {
      const { id } = decode(message);
      if (!wanted.has(id)) return false;
      ch.ack(message);
      purged.add(id);
      return true;
    });
    return purged.size;
  }

  /**
   * Visits up to `limit` of the messages present when it starts, on a channel of its own;
   * returns how many it removed.
   */
  async #scan(dlq: string, limit: number, visit: Visit): Promise<number> {
    const ch = await this.#link.channel();
    ch.on('error', () => {});
    let present = 0;
    let removed = 0;
    try {
      present = (await ch.checkQueue(dlq)).messageCount;
      for (let i = 0; i < present && i < limit; i++) {
        const message = await ch.get(dlq, { noAck: false });
        if (message === false) break;
        if (await visit(ch, message)) removed++;
      }
    } finally {
      await ch.close().catch(() => {});
    }
    await this.#returned(dlq, present - removed);
    return removed;
  }

  /**
   * The quorum queue takes back the messages of a closed channel asynchronously: wait
   * (bounded) until they are counted again, so the next call sees them.
   */
  async #returned(dlq: string, expected: number): Promise<void> {
    if (expected <= 0) return;
    const ch = await this.#link.shared('ops');
    const deadline = Date.now() + 2_000;
    while ((await ch.checkQueue(dlq)).messageCount < expected && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}
