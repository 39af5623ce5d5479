// The core errors this pattern throws, with their type guards: import them from here.
export {
  AbortedError,
  ClosedError,
  DependencyMissingError,
  InvalidArgumentError,
  isAbortedError,
  isClosedError,
  isDependencyMissingError,
  isInvalidArgumentError,
  isLimiterUnavailableError,
  isLoadShedError,
  isQueueFullError,
  isRateLimitedError,
  isSluiceError,
  isTimeoutError,
  LimiterUnavailableError,
  LoadShedError,
  QueueFullError,
  RateLimitedError,
  retryAfterOf,
  SluiceError,
  TimeoutError,
} from '../core/errors.js';
export { type AimdLimitOptions, aimdAlgorithm, aimdLimit } from './aimd-limit.js';
export {
  BoundedChannel,
  type BoundedChannelOptions,
  boundedChannel,
  type ChannelWaitOptions,
  type OverflowPolicy,
} from './bounded-channel.js';
export {
  type ConcurrencyLimit,
  type ConcurrencyLimitOptions,
  concurrencyLimit,
  type LimitAlgorithm,
  type LimitSample,
  type LimitToken,
} from './concurrency-limit.js';
export { recentEventLoopDelayMs } from './event-loop-delay.js';
export { fixedConcurrencyLimit } from './fixed-limit.js';
export { type GcraOptions, gcra } from './gcra.js';
export { type GradientLimitOptions, gradientAlgorithm, gradientLimit } from './gradient-limit.js';
export {
  type AdmitOptions,
  defaultClassify,
  type FailureOutcome,
  LoadShedder,
  type LoadShedderOptions,
  type LoadShedderStats,
  loadShedder,
} from './load-shedder.js';
export type { RateLimitDecision, RateLimiter } from './rate-limiter.js';
export {
  type RedisGcraLimiter,
  type RedisGcraOptions,
  type RedisScriptClient,
  redisGcra,
  type StoreErrorMode,
} from './redis-gcra.js';
export { type LocalRateLimiter, type TokenBucketOptions, tokenBucket } from './token-bucket.js';
