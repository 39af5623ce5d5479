import { headers as natsHeaders } from '@nats-io/transport-node';
import type { Retention, StreamEntryRecord, StreamPosition, StreamRecord } from '../../driver.js';
import type { JetStreamAccess } from './connection.js';
import type { Names } from './names.js';
import { checkPayloadSize } from './payload-limit.js';
import { metaOf, readMeta, text, writeMeta } from './records.js';
import { scan } from './scan.js';
import type { Topology } from './topology.js';

/** JetStream's shortest max_age; a shorter retention is applied by trimming on append. */
const minAgeMs = 100;

/**
 * Streams (logs) as limits streams: an offset is the stream sequence, so offsets survive
 * retention; committed group offsets are the last message on a per-group subject of one
 * offsets stream that keeps one message per subject.
 */
export class Logs {
  readonly #a: JetStreamAccess;
  readonly #names: Names;
  readonly #topology: Topology;

  constructor(access: JetStreamAccess, names: Names, topology: Topology) {
    this.#a = access;
    this.#names = names;
    this.#topology = topology;
  }

  async append(
    name: string,
    records: readonly StreamRecord[],
    retention: Retention,
  ): Promise<number[]> {
    const { stream, subject } = this.#names.log(name);
    await this.#topology.log(name, {
      max_msgs: retention.maxCount ?? -1,
      max_bytes: retention.maxBytes ?? -1,
      max_age:
        retention.maxAgeMs === undefined ? 0 : Math.max(retention.maxAgeMs, minAgeMs) * 1_000_000,
    });
    const maxPayload = this.#a.maxPayload();
    const headers = records.map((record, i) => {
      const h = natsHeaders();
      writeMeta(h, metaOf(record));
      checkPayloadSize(record.body, h, maxPayload, i, records.length);
      return h;
    });
    const acks = await Promise.all(
      records.map((record, i) =>
        this.#a.js.publish(subject, record.body, {
          headers: headers[i]!,
          timeout: this.#a.timeoutMs,
        }),
      ),
    );
    if (retention.maxAgeMs !== undefined && retention.maxAgeMs < minAgeMs) {
      await this.#trimOlderThan(stream, Date.now() - retention.maxAgeMs);
    }
    return acks.map((a) => a.seq);
  }

  async read(name: string, fromOffset: number, limit: number): Promise<StreamEntryRecord[]> {
    await this.#topology.log(name, undefined);
    const page = await scan(
      this.#a.jsm,
      this.#a.puller,
      this.#names.log(name).stream,
      { seq: fromOffset },
      limit,
    );
    return page.map((msg) => {
      const meta = readMeta(msg.headers, String(msg.seq));
      return {
        id: meta.id,
        key: meta.key,
        headers: meta.headers,
        body: text(msg.msg.data),
        offset: msg.seq,
        publishedAt: meta.publishedAt ?? msg.storedAt,
      };
    });
  }

  async resolve(name: string, position: StreamPosition): Promise<number> {
    await this.#topology.log(name, undefined);
    const stream = this.#names.log(name).stream;
    const { state } = await this.#a.jsm.streams.info(stream);
    const end = state.last_seq + 1;
    if (position === 'latest') return end;
    if (position === 'earliest') return state.messages === 0 ? end : state.first_seq;
    const [first] = await scan(this.#a.jsm, this.#a.puller, stream, { time: position.time }, 1);
    return first?.seq ?? end;
  }

  async commit(name: string, group: string, offset: number): Promise<void> {
    await this.#topology.offsets();
    await this.#a.js.publish(this.#names.offset(name, group), String(offset), {
      timeout: this.#a.timeoutMs,
    });
  }

  async committed(name: string, group: string): Promise<number | undefined> {
    await this.#topology.offsets();
    const stored = await this.#a.jsm.streams.getMessage(this.#names.offsets.stream, {
      last_by_subj: this.#names.offset(name, group),
    });
    return stored === null ? undefined : Number(text(stored.data));
  }

  async #trimOlderThan(stream: string, cutoff: number): Promise<void> {
    const [first] = await scan(this.#a.jsm, this.#a.puller, stream, { time: cutoff }, 1);
    if (first === undefined) await this.#a.jsm.streams.purge(stream);
    else await this.#a.jsm.streams.purge(stream, { seq: first.seq });
  }
}
