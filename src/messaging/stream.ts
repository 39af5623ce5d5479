import { InvalidArgumentError, UnsupportedError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { throwIfAborted } from '../core/signals.js';
import type { BrokerCore } from './broker-core.js';
import { compileSchema, decodePayload, encodePayload } from './codec.js';
import type { Retention, StreamEntryRecord, StreamPosition, StreamRecord } from './driver.js';
import { watchSource } from './metrics.js';
import {
  resolveStreamConsumeOptions,
  type StreamConsumeOptions,
  type StreamConsumer,
  StreamGroupConsumer,
} from './stream-consumer.js';
import { startSend } from './tracing.js';
import type { HandlerContext, Headers, OutgoingMessage, Schema } from './types.js';
import {
  checkHeaders,
  checkName,
  knownKeys,
  nonNegative,
  optionalString,
  positiveInt,
} from './validate.js';

export interface StreamOptions<T> {
  /** Keep at most this many entries. */
  maxCount?: number;
  /** Drop entries older than this many ms. */
  maxAge?: number;
  /** Keep at most this many bytes of entries. */
  maxBytes?: number;
  schema?: Schema<T>;
  /** Default 1 MiB (of JSON). */
  maxPayloadBytes?: number;
}

export interface StreamEntry<T> {
  readonly offset: number;
  readonly id: string;
  readonly key: string | undefined;
  readonly headers: Headers;
  readonly payload: T;
  readonly publishedAt: Date;
}

/** An offset, the first entry at or after a time, or either end of the log. */
export type From = number | Date | 'earliest' | 'latest';

export interface ReadOptions {
  from?: From;
  /** Default 100, at most 10,000. */
  limit?: number;
  signal?: AbortSignal;
}

/** An append-only log read by offset; groups remember where they got to. */
export class Stream<T = unknown> {
  readonly name: string;
  readonly #core: BrokerCore;
  readonly #retention: Retention;
  readonly #check: ((payload: unknown) => string | undefined) | undefined;
  readonly #maxBytes: number;

  constructor(core: BrokerCore, name: string, options: StreamOptions<T> | undefined) {
    knownKeys('stream option', options, [
      'maxCount',
      'maxAge',
      'maxBytes',
      'schema',
      'maxPayloadBytes',
    ]);
    const caps = core.driver.capabilities;
    if (!caps.streams)
      throw new UnsupportedError(`the ${core.driver.name} driver does not offer streams`);
    const o = options ?? {};
    const wanted = [
      ['count', o.maxCount],
      ['age', o.maxAge],
      ['bytes', o.maxBytes],
    ] as const;
    for (const [kind, value] of wanted) {
      if (value !== undefined && !caps.streamRetention.includes(kind)) {
        throw new UnsupportedError(
          `the ${core.driver.name} driver does not offer retention by ${kind}`,
        );
      }
    }
    this.name = name;
    this.#core = core;
    this.#retention = {
      maxCount: o.maxCount === undefined ? undefined : positiveInt('maxCount', o.maxCount, 1),
      maxAgeMs: o.maxAge === undefined ? undefined : nonNegative('maxAge', o.maxAge, 0),
      maxBytes: o.maxBytes === undefined ? undefined : positiveInt('maxBytes', o.maxBytes, 1),
    };
    this.#check = compileSchema(o.schema);
    this.#maxBytes = positiveInt('maxPayloadBytes', o.maxPayloadBytes, 1024 * 1024);
  }

  /** Appends one entry; resolves with its offset once stored. */
  async append(
    payload: T,
    options: Omit<OutgoingMessage<T>, 'payload' | 'delay'> = {},
  ): Promise<number> {
    const [offset] = await this.appendBatch([{ ...options, payload }]);
    return offset!;
  }

  async appendBatch(
    entries: readonly Omit<OutgoingMessage<T>, 'delay'>[],
    options: { signal?: AbortSignal } = {},
  ): Promise<number[]> {
    this.#core.assertOpen();
    throwIfAborted(options.signal);
    if (!Array.isArray(entries) || entries.length > 10_000) {
      throw new InvalidArgumentError('appendBatch takes an array of at most 10000 entries');
    }
    const records = entries.map((e): StreamRecord => {
      knownKeys('entry field', e, ['payload', 'id', 'key', 'headers']);
      const headers = checkHeaders(e.headers);
      return {
        id: optionalString('id', e.id, 256) ?? newId(),
        key: optionalString('key', e.key, 1024),
        headers,
        body: encodePayload(e.payload, this.#check, this.#maxBytes),
      };
    });
    const spans = startSend({ system: this.#core.driver.name, name: this.name }, records);
    try {
      const offsets = await this.#core.track(
        this.#core.driver.append(this.name, records, this.#retention),
      );
      spans.end();
      return offsets;
    } catch (error) {
      spans.end(error);
      throw error;
    }
  }

  /** One page of entries starting at `from` (default the earliest kept). */
  async read(options: ReadOptions = {}): Promise<StreamEntry<T>[]> {
    this.#core.assertOpen();
    throwIfAborted(options.signal);
    const start = await this.position(options.from ?? 'earliest');
    const limit = positiveInt('limit', options.limit, 100);
    if (limit > 10_000) throw new InvalidArgumentError(`limit must be <= 10000, got ${limit}`);
    const records = await this.#core.driver.read(this.name, start, limit);
    return records.map(toEntry<T>);
  }

  /** Entries from `from` on, waiting for new ones until the signal aborts. */
  async *tail(options: ReadOptions = {}): AsyncGenerator<StreamEntry<T>> {
    let next = await this.position(options.from ?? 'latest');
    const limit = positiveInt('limit', options.limit, 100);
    const { signal } = options;
    // Subscribed for the whole tail, so an append between a read and the wait is not missed.
    let appended = false;
    let wake: (() => void) | undefined;
    const unsubscribe = this.#core.driver.onAppend(this.name, () => {
      appended = true;
      wake?.();
    });
    const onAbort = () => wake?.();
    signal?.addEventListener('abort', onAbort);
    try {
      while (!signal?.aborted) {
        this.#core.assertOpen();
        appended = false;
        const page = await this.#core.driver.read(this.name, next, limit);
        for (const record of page) {
          next = record.offset + 1;
          yield toEntry<T>(record);
        }
        if (page.length < limit && !appended && !signal?.aborted) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, 1000);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wake = undefined;
        }
      }
    } finally {
      unsubscribe();
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Where `from` points: the offset the next read starts at. */
  async position(from: From): Promise<number> {
    if (typeof from === 'number') {
      if (!Number.isSafeInteger(from) || from < 0) {
        throw new InvalidArgumentError(`offset must be an integer >= 0, got ${from}`);
      }
      return from;
    }
    let position: StreamPosition;
    if (from instanceof Date) {
      if (!this.#core.driver.capabilities.streamReadFromTime) {
        throw new UnsupportedError(
          `the ${this.#core.driver.name} driver cannot read a stream from a time`,
        );
      }
      position = { time: from.getTime() };
    } else if (from === 'earliest' || from === 'latest') position = from;
    else throw new InvalidArgumentError(`from must be an offset, a Date, "earliest" or "latest"`);
    return this.#core.driver.resolvePosition(this.name, position);
  }

  /** A consumer group's view: reads resume from its committed offset. */
  group(name: string): StreamGroup<T> {
    return new StreamGroup<T>(this, this.#core, name);
  }
}

export class StreamGroup<T> {
  readonly name: string;
  readonly #stream: Stream<T>;
  readonly #core: BrokerCore;

  constructor(stream: Stream<T>, core: BrokerCore, name: string) {
    this.name = checkName('group', name);
    this.#stream = stream;
    this.#core = core;
    watchSource(core, { kind: 'stream', stream: stream.name, group: this.name });
  }

  /** The offset this group reads next, or undefined before its first commit. */
  async committed(): Promise<number | undefined> {
    this.#core.assertOpen();
    return this.#core.driver.committedOffset(this.#stream.name, this.name);
  }

  /** Records that everything before `nextOffset` is done. */
  async commit(nextOffset: number): Promise<void> {
    this.#core.assertOpen();
    if (!Number.isSafeInteger(nextOffset) || nextOffset < 0) {
      throw new InvalidArgumentError(`offset must be an integer >= 0, got ${nextOffset}`);
    }
    return this.#core.track(
      this.#core.driver.commitOffset(this.#stream.name, this.name, nextOffset),
    );
  }

  /**
   * Hands every entry from the committed offset on (or from `start` before the first
   * commit) to `handler`, in order, committing as it goes, and waits for new ones: the
   * group consumes the stream like a topic subscription. See StreamGroupConsumer.
   */
  consume(
    handler: (entry: StreamEntry<T>, context: HandlerContext) => unknown,
    options?: StreamConsumeOptions,
  ): StreamConsumer {
    this.#core.assertOpen();
    if (typeof handler !== 'function') throw new InvalidArgumentError('handler must be a function');
    const config = resolveStreamConsumeOptions(options);
    const { driver } = this.#core;
    const stream = this.#stream.name;
    const consumer = new StreamGroupConsumer<StreamEntry<T>>(
      {
        source: `${stream}/${this.name}`,
        committed: () => driver.committedOffset(stream, this.name),
        commit: (offset) => driver.commitOffset(stream, this.name, offset),
        position: (from) => this.#stream.position(from),
        read: (from, limit) => driver.read(stream, from, limit),
        onAppend: (listener) => driver.onAppend(stream, listener),
        toEntry: toEntry<T>,
      },
      handler,
      config,
    );
    this.#core.adopt(consumer);
    consumer.start();
    return consumer;
  }

  /** The next page after the committed offset (or from `start` before the first commit). */
  async read(
    options: { limit?: number; start?: 'earliest' | 'latest'; signal?: AbortSignal } = {},
  ) {
    const committed = await this.committed();
    return this.#stream.read({
      from: committed ?? options.start ?? 'earliest',
      ...(options.limit === undefined ? {} : { limit: options.limit }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  }
}

function toEntry<T>(record: StreamEntryRecord): StreamEntry<T> {
  return {
    offset: record.offset,
    id: record.id,
    key: record.key,
    headers: record.headers,
    payload: decodePayload(record.body) as T,
    publishedAt: new Date(record.publishedAt),
  };
}
