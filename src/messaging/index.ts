// The core errors this pattern throws, with their type guards: import them from here.
export {
  AbortedError,
  ClosedError,
  DependencyMissingError,
  EngineUnavailableError,
  InvalidArgumentError,
  isAbortedError,
  isClosedError,
  isDependencyMissingError,
  isEngineUnavailableError,
  isInvalidArgumentError,
  isQueueFullError,
  isSluiceError,
  isTimeoutError,
  isUnsupportedError,
  QueueFullError,
  SluiceError,
  TimeoutError,
  UnsupportedError,
} from '../core/errors.js';
export { Broker } from './broker.js';
export { type ConnectOptions, connect } from './connect.js';
export {
  type ConsumerErrorEvent,
  type DeadLetterEvent,
  type GroupCommitEvent,
  messagingChannels,
  type RetryScheduledEvent,
} from './diagnostics.js';
export type {
  ClaimRequest,
  ClaimResult,
  DeadLetterRecord,
  Delivery,
  DriverCapabilities,
  EnqueueOptions,
  EnqueueOutcome,
  MessagingDriver,
  OutgoingRecord,
  QueueStats,
  ReleaseOptions,
  Retention,
  Source,
  StatScope,
  StreamEntryRecord,
  StreamPosition,
  StreamRecord,
  Target,
} from './driver.js';
export {
  type PostgresIdempotencyStoreOptions,
  postgresIdempotencyStore,
} from './drivers/postgres/idempotency-store.js';
export {
  PostgresOutbox,
  type PostgresOutboxOptions,
  postgresOutbox,
} from './drivers/postgres/outbox.js';
export type { SqliteDriverOptions } from './drivers/sqlite/options.js';
export {
  DuplicateMessageError,
  InvalidMessageError,
  isDuplicateMessageError,
  isInvalidMessageError,
  isLeaseLostError,
  isNonRetryableError,
  isSyncFailedError,
  LeaseLostError,
  NonRetryableError,
  SyncFailedError,
} from './errors.js';
export {
  type IdempotencyStore,
  type IdempotentContext,
  type IdempotentHandler,
  type IdempotentOptions,
  idempotent,
} from './idempotency/idempotent.js';
export {
  type MemoryIdempotencyStoreOptions,
  memoryIdempotencyStore,
} from './idempotency/memory-store.js';
export {
  type SqliteIdempotencyStoreOptions,
  sqliteIdempotencyStore,
} from './idempotency/sqlite-store.js';
export type { OutboxMessage, OutboxStore, PendingOutboxMessage } from './outbox/outbox.js';
export { type OutboxRelay, type OutboxRelayOptions, startOutboxRelay } from './outbox/relay.js';
export { SqliteOutbox, type SqliteOutboxOptions, sqliteOutbox } from './outbox/sqlite-outbox.js';
export { Queue } from './queue.js';
export {
  type From,
  type ReadOptions,
  Stream,
  type StreamEntry,
  StreamGroup,
  type StreamOptions,
} from './stream.js';
export type { StreamConsumeOptions, StreamConsumer } from './stream-consumer.js';
export { Topic } from './topic.js';
export type {
  ConsumeOptions,
  Consumer,
  DeadLetter,
  DeadLetters,
  Handler,
  HandlerContext,
  Headers,
  Message,
  OutgoingMessage,
  Overflow,
  PublishOptions,
  PublishResult,
  QueueOptions,
  RetryOptions,
  Schema,
  StopOptions,
  TopicOptions,
} from './types.js';
