import { Countdown } from '../core/deadline.js';
import {
  InvalidArgumentError,
  isQueueFullError,
  QueueFullError,
  UnsupportedError,
} from '../core/errors.js';
import { newId } from '../core/ids.js';
import { sleep, throwIfAborted } from '../core/signals.js';
import type { BrokerCore } from './broker-core.js';
import { compileSchema, encodePayload } from './codec.js';
import type { EnqueueOptions, OutgoingRecord, Target } from './driver.js';
import { CounterTally, messagingCounters, watchSource } from './metrics.js';
import { type Destination, startSend } from './tracing.js';
import type { OutgoingMessage, Overflow, PublishResult, QueueOptions } from './types.js';
import {
  checkHeaders,
  knownKeys,
  nonNegative,
  oneOf,
  optionalString,
  positiveInt,
} from './validate.js';

export interface ProducerConfig {
  readonly maxLength: number;
  readonly overflow: Overflow;
  readonly blockTimeoutMs: number;
  readonly dedupeWindowMs: number;
  readonly maxPayloadBytes: number;
  readonly check: ((payload: unknown) => string | undefined) | undefined;
}

const queueOptionKeys = [
  'maxLength',
  'overflow',
  'blockTimeout',
  'dedupeWindow',
  'schema',
  'maxPayloadBytes',
] as const;
const messageKeys = ['payload', 'id', 'key', 'delay', 'headers'] as const;
const maxBatch = 10_000;

export function resolveProducerConfig<T>(
  options: QueueOptions<T> | undefined,
  core: BrokerCore,
): ProducerConfig {
  knownKeys('queue option', options, queueOptionKeys);
  const o = options ?? {};
  const overflow = oneOf('overflow', o.overflow, ['block', 'reject', 'drop-oldest'], 'block');
  const caps = core.driver.capabilities;
  if (overflow === 'drop-oldest' && !caps.overflow.includes('drop-oldest')) {
    throw new UnsupportedError(
      `the ${core.driver.name} driver does not offer overflow "drop-oldest"`,
    );
  }
  if (o.schema !== undefined && typeof o.schema !== 'function' && typeof o.schema !== 'object') {
    throw new InvalidArgumentError('schema must be a JSON Schema object or a predicate function');
  }
  return {
    maxLength: positiveInt('maxLength', o.maxLength, 1_000_000),
    overflow,
    blockTimeoutMs: nonNegative('blockTimeout', o.blockTimeout, 30_000),
    dedupeWindowMs: nonNegative('dedupeWindow', o.dedupeWindow, 120_000),
    maxPayloadBytes: positiveInt('maxPayloadBytes', o.maxPayloadBytes, 1024 * 1024),
    check: compileSchema(o.schema),
  };
}

/** Validates, encodes and enqueues messages for a queue or topic; shared by both. */
export class Producer<T> {
  readonly #core: BrokerCore;
  readonly #target: Target;
  readonly #config: ProducerConfig;
  readonly #labels: { driver: string; destination: string; group: string };
  readonly #published: CounterTally;
  readonly #destination: Destination;
  /** The options of every enqueue made without a signal. */
  readonly #options: EnqueueOptions;

  constructor(core: BrokerCore, target: Target, config: ProducerConfig) {
    this.#core = core;
    this.#target = target;
    this.#config = config;
    const destination = target.kind === 'queue' ? target.queue : target.topic;
    this.#destination = { system: core.driver.name, name: destination };
    const { overflow, maxLength, dedupeWindowMs } = config;
    this.#options = {
      dedupeWindowMs,
      maxLength,
      overflow: overflow === 'drop-oldest' ? 'drop-oldest' : 'reject',
    };
    this.#labels = { driver: core.driver.name, destination, group: '' };
    this.#published = new CounterTally(messagingCounters.published, this.#labels);
    if (target.kind === 'queue') watchSource(core, target);
    // Every outcome's series starts at 0, so a rate or a ratio over them works from the start.
    messagingCounters.published().inc(this.#labels, 0);
    messagingCounters.publishDuplicates().inc(this.#labels, 0);
    messagingCounters.publishFailures().inc(this.#labels, 0);
  }

  async publish(
    messages: readonly OutgoingMessage<T>[],
    signal: AbortSignal | undefined,
  ): Promise<PublishResult[]> {
    this.#core.assertOpen();
    throwIfAborted(signal);
    if (!Array.isArray(messages)) throw new InvalidArgumentError('publishBatch takes an array');
    if (messages.length > maxBatch) {
      throw new InvalidArgumentError(
        `a batch holds at most ${maxBatch} messages, got ${messages.length}`,
      );
    }
    if (messages.length === 0) return [];
    const records = messages.map((m) => this.#record(m));
    const outcomes = await this.#sent(records, signal);
    return records.map((r, i) => ({ id: r.id, duplicate: outcomes[i] === 'duplicate' }));
  }

  /** One message: what `publish([message])` does, without a batch's arrays. */
  async publishOne(
    message: OutgoingMessage<T>,
    signal: AbortSignal | undefined,
  ): Promise<PublishResult> {
    this.#core.assertOpen();
    throwIfAborted(signal);
    const record = this.#record(message);
    const [outcome] = await this.#sent([record], signal);
    return { id: record.id, duplicate: outcome === 'duplicate' };
  }

  #record(message: OutgoingMessage<T>): OutgoingRecord {
    if (typeof message !== 'object' || message === null) {
      throw new InvalidArgumentError('each message must be an object with a payload');
    }
    knownKeys('message field', message, messageKeys);
    const caps = this.#core.driver.capabilities;
    const id = optionalString('id', message.id, 256);
    const delayMs = nonNegative('delay', message.delay, 0);
    if (delayMs > 0 && !caps.delay) {
      throw new UnsupportedError(
        `the ${this.#core.driver.name} driver does not offer delayed messages`,
      );
    }
    const dedupe = id !== undefined && this.#config.dedupeWindowMs > 0;
    if (dedupe && !caps.dedupe) {
      throw new UnsupportedError(
        `the ${this.#core.driver.name} driver does not offer de-duplication; set dedupeWindow: 0`,
      );
    }
    const headers = checkHeaders(message.headers);
    return {
      id: id ?? newId(),
      dedupe,
      key: optionalString('key', message.key, 1024),
      headers,
      body: encodePayload(message.payload, this.#config.check, this.#config.maxPayloadBytes),
      delayMs,
    };
  }

  /** Enqueues in PRODUCER `send` spans, whose contexts the records carry. */
  async #sent(records: OutgoingRecord[], signal: AbortSignal | undefined) {
    const labels = this.#labels;
    const spans = startSend(this.#destination, records);
    try {
      const outcomes = await this.#core.track(this.#enqueue(records, signal));
      spans.end();
      let stored = 0;
      for (const outcome of outcomes) if (outcome === 'stored') stored++;
      if (stored > 0) this.#published.add(stored);
      if (stored < outcomes.length) {
        messagingCounters.publishDuplicates().inc(labels, outcomes.length - stored);
      }
      return outcomes;
    } catch (error) {
      spans.end(error);
      messagingCounters.publishFailures().inc(labels, records.length);
      throw error;
    }
  }

  /** The driver's enqueue; with overflow `block`, tried again while the queue is full. */
  #enqueue(records: OutgoingRecord[], signal: AbortSignal | undefined) {
    const options = signal === undefined ? this.#options : { ...this.#options, signal };
    const stored = this.#core.driver.enqueue(this.#target, records, options);
    if (this.#config.overflow !== 'block') return stored;
    return stored.catch((error: unknown) => {
      if (!isQueueFullError(error)) throw error;
      return this.#waitForRoom(records, options, error);
    });
  }

  /** Tries again, backing off, until the queue has room or `blockTimeout` has passed. */
  async #waitForRoom(records: OutgoingRecord[], options: EnqueueOptions, full: unknown) {
    const { blockTimeoutMs } = this.#config;
    const countdown = Countdown.after(blockTimeoutMs);
    for (let pause = 5; ; pause = Math.min(pause * 2, 200)) {
      const left = countdown.remaining();
      if (left <= 0) {
        throw new QueueFullError(`still full after waiting ${blockTimeoutMs} ms for room`, {
          cause: full,
        });
      }
      await sleep(Math.min(pause, left), { signal: options.signal });
      this.#core.assertOpen();
      try {
        return await this.#core.driver.enqueue(this.#target, records, options);
      } catch (error) {
        if (!isQueueFullError(error)) throw error;
        full = error;
      }
    }
  }
}
