import type { Headers } from '../types.js';

/** A message written in the application's transaction, for the relay to publish. */
export type OutboxMessage<T = unknown> = ({ queue: string } | { topic: string }) & {
  payload: T;
  /** Default: a fresh id. The relay publishes with it, so the queue's dedupe window drops a replay. */
  id?: string;
  key?: string;
  headers?: Headers;
  delay?: number;
};

export interface PendingOutboxMessage {
  readonly seq: number;
  readonly kind: 'queue' | 'topic';
  readonly name: string;
  readonly id: string;
  readonly key: string | undefined;
  readonly headers: Headers;
  readonly body: string;
  readonly delayMs: number;
}

/** Where outbox rows live: the application's own database. `Tx` is its transaction handle. */
export interface OutboxStore<Tx> {
  /** Writes `message` using `tx`, the caller's open transaction; returns the message id. */
  add<T>(tx: Tx, message: OutboxMessage<T>): string;
  /** The oldest unsent rows, in the order they were added. */
  pending(limit: number): Promise<PendingOutboxMessage[]>;
  markSent(seqs: readonly number[]): Promise<void>;
  /** Calls `listener` (perhaps spuriously) when rows may have been added; returns unsubscribe. */
  onAdd(listener: () => void): () => void;
}
