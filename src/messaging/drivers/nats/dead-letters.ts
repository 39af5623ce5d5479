import { headers as natsHeaders } from '@nats-io/transport-node';
import type { DeadLetterRecord } from '../../driver.js';
import type { JetStreamAccess } from './connection.js';
import { isNotFound } from './errors.js';
import type { JsDelivery } from './jsmsg.js';
import { type Meta, text, writeMeta } from './records.js';
import { scan, scanAll } from './scan.js';

/** Where replayed dead letters go, and how they are marked. */
export interface ReplayTarget {
  readonly subject: string;
  readonly group?: string | undefined;
}

/**
 * Dead letters live in a limits stream of their own per queue (per group for a topic), one
 * JSON record each, so they can be listed, replayed and purged without touching the queue.
 *
 * Moving a message here (store the dead letter, then ack the original) is not atomic: a
 * consumer killed between the two leaves the original to be redelivered and dead-lettered
 * again. The store is keyed by the original's stream sequence (`Nats-Msg-Id`, inside the
 * stream's duplicate window), and beyond that window one id is one dead letter: list,
 * replay and purge treat the copies of an id as one, and replay removes them all.
 */
export class DeadLetterStore {
  readonly #a: JetStreamAccess;

  constructor(access: JetStreamAccess) {
    this.#a = access;
  }

  /**
   * Stores the body as the message's data, as it was queued, and the rest of the record in a
   * header, its error cut to what `max_payload` leaves (queues keep room for the rest).
   * `origin` names the original message (its stream and sequence) across redeliveries.
   */
  async add(subject: string, record: DeadLetterRecord, origin: string): Promise<void> {
    const { body, ...rest } = record;
    const h = natsHeaders();
    h.set('Nats-Msg-Id', origin);
    h.set(recordHeader, JSON.stringify({ ...rest, error: '' }));
    // `headers()` makes a MsgHdrsImpl, whose encode() is what goes on the wire.
    const taken = (h as typeof h & { encode(): Uint8Array }).encode().byteLength;
    const room = this.#a.maxPayload() - taken - Buffer.byteLength(body);
    h.set(recordHeader, JSON.stringify({ ...rest, error: cut(rest.error, room) }));
    await this.#a.js.publish(subject, body, { headers: h, timeout: this.#a.timeoutMs });
  }

  async count(stream: string): Promise<number> {
    try {
      return (await this.#a.jsm.streams.info(stream)).state.messages;
    } catch (error) {
      if (isNotFound(error)) return 0;
      throw error;
    }
  }

  async list(stream: string, limit: number): Promise<DeadLetterRecord[]> {
    const seen = new Set<string>();
    return (await scan(this.#a.jsm, this.#a.puller, stream, { seq: 1 }, limit))
      .map(parse)
      .filter((record) => !seen.has(record.id) && seen.add(record.id));
  }

  async replay(
    stream: string,
    ids: readonly string[] | undefined,
    target: ReplayTarget,
  ): Promise<number> {
    let replayed = 0;
    await this.#each(stream, ids, async (msg, record, first) => {
      if (first) {
        const meta: Meta = {
          id: record.id,
          key: record.key,
          headers: record.headers,
          publishedAt: record.publishedAt,
          group: target.group,
        };
        const h = natsHeaders();
        writeMeta(h, meta);
        // A replay cut off before the delete below and run again stores no second copy
        // (inside the queue's duplicate window).
        h.set('Nats-Msg-Id', `replay:${stream}:${msg.seq}`);
        await this.#a.js.publish(target.subject, record.body, {
          headers: h,
          timeout: this.#a.timeoutMs,
        });
        replayed++;
      }
      await this.#a.jsm.streams.deleteMessage(stream, msg.seq, false);
    });
    return replayed;
  }

  async purge(stream: string, ids: readonly string[] | undefined): Promise<number> {
    if (ids === undefined) {
      try {
        return (await this.#a.jsm.streams.purge(stream)).purged;
      } catch (error) {
        if (isNotFound(error)) return 0;
        throw error;
      }
    }
    const purged = new Set<string>();
    await this.#each(stream, ids, async (msg, record) => {
      if (await this.#a.jsm.streams.deleteMessage(stream, msg.seq, false)) purged.add(record.id);
    });
    return purged.size;
  }

  /** Visits each chosen dead letter; `first` is false for a later copy of the same id. */
  async #each(
    stream: string,
    ids: readonly string[] | undefined,
    act: (msg: JsDelivery, record: DeadLetterRecord, first: boolean) => Promise<void>,
  ): Promise<void> {
    const wanted = ids === undefined ? undefined : new Set(ids);
    const seen = new Set<string>();
    await scanAll(this.#a.jsm, this.#a.puller, stream, async (page) => {
      const chosen = page
        .map((msg) => ({ msg, record: parse(msg) }))
        .filter(({ record }) => wanted === undefined || wanted.has(record.id))
        .map(({ msg, record }) => ({
          msg,
          record,
          first: !seen.has(record.id) && !!seen.add(record.id),
        }));
      await Promise.all(chosen.map(({ msg, record, first }) => act(msg, record, first)));
    });
  }
}

/** The dead letter's record but its body, which is the message's data. */
const recordHeader = 'Sluice-Dead-Letter';

function parse(msg: JsDelivery): DeadLetterRecord {
  const raw = msg.msg.headers?.get(recordHeader);
  // Dead letters stored before the record moved to a header hold the whole record as JSON.
  if (raw === undefined || raw === '') return JSON.parse(text(msg.msg.data)) as DeadLetterRecord;
  return { ...(JSON.parse(raw) as Omit<DeadLetterRecord, 'body'>), body: text(msg.msg.data) };
}

/** `error` in at most `bytes` bytes inside a JSON string, marked where it was cut. */
function cut(error: string, bytes: number): string {
  if (Buffer.byteLength(JSON.stringify(error)) - 2 <= bytes) return error;
  // A code point takes at most 6 bytes in a JSON string (an escape); the mark takes 3.
  return `${[...error].slice(0, Math.max(0, Math.floor((bytes - 3) / 6))).join('')}…`;
}
