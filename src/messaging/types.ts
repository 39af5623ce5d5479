import type { Backoff, ExponentialBackoffOptions } from '../resilience/backoff.js';
import type { QueueStats } from './driver.js';

export type Headers = Readonly<Record<string, string>>;

/** A message as a handler receives it. */
export interface Message<T> {
  readonly id: string;
  /** The ordering key, when the producer gave one. */
  readonly key: string | undefined;
  readonly headers: Headers;
  readonly payload: T;
  /** 1 on first delivery; counts crashed consumers' deliveries too. */
  readonly attempt: number;
  readonly publishedAt: Date;
  /** The queue name, or `topic/group` for a topic subscription. */
  readonly source: string;
  /** Pushes the lease out to now + `ms` (default: the consumer's `leaseTimeout`). */
  extendLease(ms?: number): Promise<void>;
}

export interface HandlerContext {
  /** Aborted when the consumer stops past its drain timeout, or the lease is lost. */
  readonly signal: AbortSignal;
}

export type Handler<T> = (message: Message<T>, context: HandlerContext) => unknown;

/**
 * A JSON Schema (validated with ajv) or a predicate. Checked at publish; a payload that
 * fails the check at consume time is dead-lettered without retries.
 */
export type Schema<T> = Readonly<Record<string, unknown>> | ((payload: unknown) => payload is T);

export interface PublishOptions {
  /** Producer message id; a repeat inside the dedupe window stores nothing new. */
  id?: string | undefined;
  /** Ordering key: with `ordering: 'key'` one message per key is in flight at a time. */
  key?: string | undefined;
  /** Milliseconds before the message becomes deliverable. */
  delay?: number | undefined;
  headers?: Headers | undefined;
  signal?: AbortSignal | undefined;
}

export interface OutgoingMessage<T> extends Omit<PublishOptions, 'signal'> {
  payload: T;
}

export interface PublishResult {
  readonly id: string;
  /** True when the id was seen inside the dedupe window and nothing was stored. */
  readonly duplicate: boolean;
}

export type Overflow = 'block' | 'reject' | 'drop-oldest';

export interface QueueOptions<T> {
  /** Messages stored (ready, delayed and in flight). Default 1,000,000. */
  maxLength?: number;
  /** What a publish to a full queue does. Default `block`. */
  overflow?: Overflow;
  /** With `overflow: 'block'`: how long a publish waits for room. Default 30 s. */
  blockTimeout?: number;
  /** Default 120 s. 0 turns producer de-duplication off. */
  dedupeWindow?: number;
  schema?: Schema<T>;
  /** Default 1 MiB (of JSON). */
  maxPayloadBytes?: number;
}

export type TopicOptions<T> = QueueOptions<T>;

export interface RetryOptions extends ExponentialBackoffOptions {}

export interface ConsumeOptions {
  /**
   * Messages held at once (running plus buffered). Default 32. A message whose ack is queued
   * but not yet written no longer takes a slot; up to `prefetch` more such acks may be pending
   * before the consumer stops claiming, so it holds at most twice `prefetch` messages.
   */
  prefetch?: number;
  /** Handlers running at once. Default 1. */
  concurrency?: number;
  /** A message not acked within this long is redelivered; renewed while handling. Default 30 s. */
  leaseTimeout?: number;
  /** Delay before redelivering a failed message. Default exponential 200 ms .. 30 s, jittered. */
  retry?: Backoff | RetryOptions;
  /** Deliveries before a failing message is dead-lettered. Default 5. */
  maxAttempts?: number;
  /** Keep failed messages in the dead-letter queue (default) or drop them. */
  deadLetter?: boolean;
  /** `'key'`: one message per ordering key in flight, in publish order. Default `'none'`. */
  ordering?: 'none' | 'key';
  /** Which errors are worth a retry; others dead-letter at once. Default: all but NonRetryableError. */
  retryable?: (error: unknown) => boolean;
  /** Slow fallback for wake-ups that a driver could not signal. Default 1 s. */
  pollInterval?: number;
  /** Aborting stops the consumer (with the default drain timeout). */
  signal?: AbortSignal;
}

export interface StopOptions {
  /** How long in-flight handlers may finish before they are aborted and released. Default 30 s. */
  drainTimeout?: number | undefined;
}

export interface Consumer {
  /** Handlers running now. */
  readonly active: number;
  /** Messages claimed and waiting for a free handler slot. */
  readonly buffered: number;
  /** Resolves once the consumer has fully stopped. */
  readonly closed: Promise<void>;
  stop(options?: StopOptions): Promise<void>;
}

export interface DeadLetter<T> {
  readonly id: string;
  readonly key: string | undefined;
  readonly headers: Headers;
  /** Undefined when the stored body is not valid JSON. */
  readonly payload: T | undefined;
  readonly attempt: number;
  readonly publishedAt: Date;
  readonly failedAt: Date;
  readonly error: string;
}

export interface DeadLetters<T> {
  list(options?: { limit?: number }): Promise<DeadLetter<T>[]>;
  /** Puts dead letters (all, or those ids) back as fresh messages; returns how many. */
  replay(options?: { ids?: readonly string[] }): Promise<number>;
  purge(options?: { ids?: readonly string[] }): Promise<number>;
}

export type { QueueStats };
