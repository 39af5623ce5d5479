// The core errors this pattern throws, with their type guards: import them from here.
export {
  AbortedError,
  BulkheadFullError,
  CircuitOpenError,
  InvalidArgumentError,
  isAbortedError,
  isBulkheadFullError,
  isCircuitOpenError,
  isInvalidArgumentError,
  isRetryBudgetExhaustedError,
  isSluiceError,
  isTimeoutError,
  RetryBudgetExhaustedError,
  retryAfterOf,
  SluiceError,
  TimeoutError,
} from '../core/errors.js';
export {
  type Backoff,
  constantBackoff,
  type DecorrelatedJitterBackoffOptions,
  decorrelatedJitterBackoff,
  type ExponentialBackoffOptions,
  exponentialBackoff,
} from './backoff.js';
export {
  type BreakerWindow,
  CircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitBreakerSnapshot,
  circuitBreaker,
  type StateChangeListener,
} from './breaker.js';
export { RetryBudget, type RetryBudgetOptions, retryBudget } from './budget.js';
export { Bulkhead, type BulkheadOptions, type BulkheadStats, bulkhead } from './bulkhead.js';
export { type FallbackOptions, FallbackPolicy, type FallbackValue, fallback } from './fallback.js';
export { type HedgeOptions, HedgePolicy, hedge } from './hedge.js';
export type { ExecuteOptions, Policy, PolicyContext, Work } from './policy.js';
export { type RetryOptions, RetryPolicy, retry } from './retry.js';
export { type TimeoutOptions, TimeoutPolicy, timeout } from './timeout.js';
export { WrappedPolicy, wrap } from './wrap.js';
