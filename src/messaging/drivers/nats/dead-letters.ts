import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import type { DeadLetterRecord } from '../../driver.js';
import { isNotFound } from './errors.js';
import type { JsDelivery } from './jsmsg.js';
import type { Puller } from './pull.js';
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
 */
export class DeadLetterStore {
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #puller: Puller;
  readonly #timeoutMs: number;

  constructor(js: JetStreamClient, jsm: JetStreamManager, puller: Puller, timeoutMs: number) {
    this.#js = js;
    this.#jsm = jsm;
    this.#puller = puller;
    this.#timeoutMs = timeoutMs;
  }

  async add(subject: string, record: DeadLetterRecord): Promise<void> {
    await this.#js.publish(subject, JSON.stringify(record), { timeout: this.#timeoutMs });
  }

  async count(stream: string): Promise<number> {
    try {
      return (await this.#jsm.streams.info(stream)).state.messages;
    } catch (error) {
      if (isNotFound(error)) return 0;
      throw error;
    }
  }

  async list(stream: string, limit: number): Promise<DeadLetterRecord[]> {
    return (await scan(this.#jsm, this.#puller, stream, { seq: 1 }, limit)).map(parse);
  }

  async replay(
    stream: string,
    ids: readonly string[] | undefined,
    target: ReplayTarget,
  ): Promise<number> {
    let replayed = 0;
    await this.#each(stream, ids, async (msg, record) => {
      const meta: Meta = {
        id: record.id,
        key: record.key,
        headers: record.headers,
        publishedAt: record.publishedAt,
        group: target.group,
      };
      const h = natsHeaders();
      writeMeta(h, meta);
      await this.#js.publish(target.subject, record.body, { headers: h, timeout: this.#timeoutMs });
      await this.#jsm.streams.deleteMessage(stream, msg.seq, false);
      replayed++;
    });
    return replayed;
  }

  async purge(stream: string, ids: readonly string[] | undefined): Promise<number> {
    if (ids === undefined) {
      try {
        return (await this.#jsm.streams.purge(stream)).purged;
      } catch (error) {
        if (isNotFound(error)) return 0;
        throw error;
      }
    }
    let purged = 0;
    await this.#each(stream, ids, async (msg) => {
      if (await this.#jsm.streams.deleteMessage(stream, msg.seq, false)) purged++;
    });
    return purged;
  }

  async #each(
    stream: string,
    ids: readonly string[] | undefined,
    act: (msg: JsDelivery, record: DeadLetterRecord) => Promise<void>,
  ): Promise<void> {
    const wanted = ids === undefined ? undefined : new Set(ids);
    await scanAll(this.#jsm, this.#puller, stream, async (page) => {
      const chosen = page
        .map((msg) => ({ msg, record: parse(msg) }))
        .filter(({ record }) => wanted === undefined || wanted.has(record.id));
      await Promise.all(chosen.map(({ msg, record }) => act(msg, record)));
    });
  }
}

function parse(msg: JsDelivery): DeadLetterRecord {
  return JSON.parse(text(msg.msg.data)) as DeadLetterRecord;
}
