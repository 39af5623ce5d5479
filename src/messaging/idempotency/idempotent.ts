import { InvalidArgumentError } from '../../core/errors.js';
import { isDuplicateMessageError } from '../errors.js';
import type { Handler, HandlerContext, Message } from '../types.js';

/** Remembers which messages were processed. `Tx` is what the store's transactions give work. */
export interface IdempotencyStore<Tx = undefined> {
  /** Whether `key` is recorded as done. */
  has(key: string): Promise<boolean>;
  /**
   * Runs `work` in one transaction that also records `key`; if `key` is already recorded it
   * throws DuplicateMessageError and nothing `work` did is kept.
   */
  transaction<R>(key: string, work: (tx: Tx) => R): Promise<Awaited<R>>;
}

export interface IdempotentContext<Tx> extends HandlerContext {
  /**
   * Runs `work` in the store's transaction, together with the record that this message is
   * done: both commit or neither. Call it at most once; if the handler never does, the
   * record is written on its own after the handler returns.
   */
  transaction<R>(work: (tx: Tx) => R): Promise<Awaited<R>>;
}

export type IdempotentHandler<T, Tx> = (
  message: Message<T>,
  context: IdempotentContext<Tx>,
) => unknown;

export interface IdempotentOptions<T, Tx> {
  store: IdempotencyStore<Tx>;
  /** Default `<source>:<message id>`, so each queue and topic group has its own record. */
  key?: (message: Message<T>) => string;
}

/**
 * Wraps a handler so that a redelivered message has no second effect: processed keys are
 * recorded, in the same transaction as the handler's own writes when it uses `transaction`.
 */
export function idempotent<T, Tx = undefined>(
  handler: IdempotentHandler<T, Tx>,
  options: IdempotentOptions<T, Tx>,
): Handler<T> {
  if (typeof handler !== 'function') throw new InvalidArgumentError('handler must be a function');
  const { store } = options ?? {};
  if (typeof store?.has !== 'function' || typeof store.transaction !== 'function') {
    throw new InvalidArgumentError('idempotent() needs a store with has() and transaction()');
  }
  const keyOf = options.key ?? ((m: Message<T>) => `${m.source}:${m.id}`);
  return async (message, context) => {
    const key = keyOf(message);
    if (await store.has(key)) return;
    let used = false;
    const transaction = <R>(work: (tx: Tx) => R): Promise<Awaited<R>> => {
      if (used) throw new InvalidArgumentError('transaction() may run once per message');
      used = true;
      return store.transaction(key, work);
    };
    try {
      await handler(message, { signal: context.signal, transaction });
      if (!used) await store.transaction(key, () => undefined);
    } catch (error) {
      // Another delivery of the same message committed first: its effect stands, ours is gone.
      if (isDuplicateMessageError(error) && error.key === key) return;
      throw error;
    }
  };
}
