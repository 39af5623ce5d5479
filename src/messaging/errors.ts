import { codedError, errorGuard, SluiceError, type SluiceErrorOptions } from '../core/errors.js';

/**
 * Thrown by a handler (or by the consumer itself, for a payload that fails validation) to
 * send a message straight to the dead-letter queue instead of retrying it.
 */
export class NonRetryableError extends codedError('NonRetryableError', 'SLUICE_NON_RETRYABLE') {}

/** A payload that is not JSON-serialisable, too large, or rejected by the schema. */
export class InvalidMessageError extends codedError(
  'InvalidMessageError',
  'SLUICE_INVALID_MESSAGE',
) {}

/** An idempotency key was already recorded: the work it guards has happened before. */
export class DuplicateMessageError extends SluiceError {
  constructor(
    readonly key: string,
    options?: SluiceErrorOptions,
  ) {
    super('SLUICE_DUPLICATE_MESSAGE', `Message ${key} was already processed`, options);
    this.name = 'DuplicateMessageError';
  }
}

export const isNonRetryableError = errorGuard<NonRetryableError>('SLUICE_NON_RETRYABLE');
export const isInvalidMessageError = errorGuard<InvalidMessageError>('SLUICE_INVALID_MESSAGE');
export const isDuplicateMessageError = errorGuard<DuplicateMessageError>(
  'SLUICE_DUPLICATE_MESSAGE',
);

/** The message's lease expired and it may already be with another consumer. */
export class LeaseLostError extends SluiceError {
  constructor(messageId: string, options?: SluiceErrorOptions) {
    super('SLUICE_LEASE_LOST', `Lease on message ${messageId} was lost`, options);
    this.name = 'LeaseLostError';
  }
}

/**
 * The write was committed, but syncing it to disk failed: it survives a process kill and
 * may not survive an OS crash. Publishing again is safe with a producer message id.
 */
export class SyncFailedError extends codedError('SyncFailedError', 'SLUICE_SYNC_FAILED') {}

export const isSyncFailedError = errorGuard<SyncFailedError>('SLUICE_SYNC_FAILED');

export const isLeaseLostError = errorGuard<LeaseLostError>('SLUICE_LEASE_LOST');
