/**
 * Every error Sluice throws is a SluiceError with a stable `code`. Type guards check a
 * brand symbol from the global registry rather than `instanceof`, so they hold when two
 * copies of the package are installed side by side.
 */
const brand = Symbol.for('sluice.error');

export type SluiceErrorCode =
  | 'SLUICE_TIMEOUT'
  | 'SLUICE_ABORTED'
  | 'SLUICE_CIRCUIT_OPEN'
  | 'SLUICE_BULKHEAD_FULL'
  | 'SLUICE_RATE_LIMITED'
  | 'SLUICE_LOAD_SHED'
  | 'SLUICE_QUEUE_FULL'
  | 'SLUICE_RETRY_BUDGET_EXHAUSTED'
  | 'SLUICE_CONFIG_INVALID'
  | 'SLUICE_INVALID_ARGUMENT'
  | 'SLUICE_CLOSED'
  | 'SLUICE_UNSUPPORTED'
  | 'SLUICE_DEPENDENCY_MISSING'
  | 'SLUICE_LIMITER_UNAVAILABLE'
  | 'SLUICE_ENGINE_UNAVAILABLE'
  | (string & {});

export interface SluiceErrorOptions {
  cause?: unknown;
  /** Milliseconds after which trying again may succeed; honoured by `retry`. */
  retryAfter?: number | undefined;
}

export class SluiceError extends Error {
  readonly code: SluiceErrorCode;
  readonly retryAfter: number | undefined;

  constructor(code: SluiceErrorCode, message: string, options: SluiceErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SluiceError';
    this.code = code;
    this.retryAfter = options.retryAfter;
  }

  get [brand](): true {
    return true;
  }
}

/** A SluiceError class for one code; without a default message, `new` requires one. */
export interface CodedError {
  new (message: string, options?: SluiceErrorOptions): SluiceError;
}

export interface CodedErrorWithDefault {
  new (message?: string, options?: SluiceErrorOptions): SluiceError;
}

/** The base of an error class that only carries its code: `class X extends codedError(...) {}`. */
export function codedError(name: string, code: SluiceErrorCode): CodedError;
export function codedError(
  name: string,
  code: SluiceErrorCode,
  defaultMessage: string,
): CodedErrorWithDefault;
export function codedError(
  name: string,
  code: SluiceErrorCode,
  defaultMessage?: string,
): CodedError {
  return class extends SluiceError {
    constructor(message = defaultMessage ?? '', options?: SluiceErrorOptions) {
      super(code, message, options);
      this.name = name;
    }
  };
}

export class TimeoutError extends SluiceError {
  constructor(
    readonly timeoutMs: number,
    options?: SluiceErrorOptions,
  ) {
    super('SLUICE_TIMEOUT', `Operation timed out after ${timeoutMs} ms`, options);
    this.name = 'TimeoutError';
  }
}

export class AbortedError extends codedError(
  'AbortedError',
  'SLUICE_ABORTED',
  'Operation was aborted',
) {}

export class CircuitOpenError extends codedError(
  'CircuitOpenError',
  'SLUICE_CIRCUIT_OPEN',
  'Circuit breaker is open',
) {}

export class BulkheadFullError extends codedError(
  'BulkheadFullError',
  'SLUICE_BULKHEAD_FULL',
  'Bulkhead is full',
) {}

export class RateLimitedError extends codedError(
  'RateLimitedError',
  'SLUICE_RATE_LIMITED',
  'Rate limit exceeded',
) {}

export class LoadShedError extends codedError(
  'LoadShedError',
  'SLUICE_LOAD_SHED',
  'Load shed: too many requests in progress',
) {}

export class QueueFullError extends codedError(
  'QueueFullError',
  'SLUICE_QUEUE_FULL',
  'Queue is full',
) {}

export class RetryBudgetExhaustedError extends codedError(
  'RetryBudgetExhaustedError',
  'SLUICE_RETRY_BUDGET_EXHAUSTED',
  'Retry budget exhausted',
) {}

export class InvalidArgumentError extends codedError(
  'InvalidArgumentError',
  'SLUICE_INVALID_ARGUMENT',
) {}

export class ClosedError extends codedError(
  'ClosedError',
  'SLUICE_CLOSED',
  'Component is closed',
) {}

export class UnsupportedError extends codedError('UnsupportedError', 'SLUICE_UNSUPPORTED') {}

export class DependencyMissingError extends SluiceError {
  constructor(
    readonly packageName: string,
    purpose: string,
    options?: SluiceErrorOptions,
  ) {
    super(
      'SLUICE_DEPENDENCY_MISSING',
      `${purpose} needs the package "${packageName}": run \`npm install ${packageName}\``,
      options,
    );
    this.name = 'DependencyMissingError';
  }
}

export class LimiterUnavailableError extends codedError(
  'LimiterUnavailableError',
  'SLUICE_LIMITER_UNAVAILABLE',
) {}

/** The engine (broker, database) cannot be reached right now: the call was not carried out. */
export class EngineUnavailableError extends codedError(
  'EngineUnavailableError',
  'SLUICE_ENGINE_UNAVAILABLE',
) {}

/** One problem found in a configuration file. */
export interface ConfigProblem {
  file: string;
  /** 1-based; 0 when the problem has no position (e.g. the file is missing). */
  line: number;
  column: number;
  /** Key path such as `gateway.routes[2].rateLimit.limit`. */
  path: string;
  message: string;
}

export class ConfigError extends SluiceError {
  constructor(
    readonly problems: readonly ConfigProblem[],
    options?: SluiceErrorOptions,
  ) {
    super('SLUICE_CONFIG_INVALID', formatProblems(problems), options);
    this.name = 'ConfigError';
  }
}

function formatProblems(problems: readonly ConfigProblem[]): string {
  const lines = problems.map((p) => {
    const where = p.line > 0 ? `${p.file}:${p.line}:${p.column}` : p.file;
    return `  ${where} ${p.path || '(root)'}: ${p.message}`;
  });
  const noun = problems.length === 1 ? 'problem' : 'problems';
  return `Invalid configuration (${problems.length} ${noun}):\n${lines.join('\n')}`;
}

export function isSluiceError(error: unknown, code?: SluiceErrorCode): error is SluiceError {
  if (typeof error !== 'object' || error === null || !(brand in error)) return false;
  return code === undefined || (error as SluiceError).code === code;
}

/** The type guard of one code: true across copies of the package, as isSluiceError is. */
export function errorGuard<E extends SluiceError>(code: SluiceErrorCode): (e: unknown) => e is E {
  return (e): e is E => isSluiceError(e, code);
}

export const isTimeoutError = errorGuard<TimeoutError>('SLUICE_TIMEOUT');
export const isAbortedError = errorGuard<AbortedError>('SLUICE_ABORTED');
export const isCircuitOpenError = errorGuard<CircuitOpenError>('SLUICE_CIRCUIT_OPEN');
export const isBulkheadFullError = errorGuard<BulkheadFullError>('SLUICE_BULKHEAD_FULL');
export const isRateLimitedError = errorGuard<RateLimitedError>('SLUICE_RATE_LIMITED');
export const isLoadShedError = errorGuard<LoadShedError>('SLUICE_LOAD_SHED');
export const isQueueFullError = errorGuard<QueueFullError>('SLUICE_QUEUE_FULL');
export const isEngineUnavailableError = errorGuard<EngineUnavailableError>(
  'SLUICE_ENGINE_UNAVAILABLE',
);
export const isConfigError = errorGuard<ConfigError>('SLUICE_CONFIG_INVALID');
export const isRetryBudgetExhaustedError = errorGuard<RetryBudgetExhaustedError>(
  'SLUICE_RETRY_BUDGET_EXHAUSTED',
);
export const isInvalidArgumentError = errorGuard<InvalidArgumentError>('SLUICE_INVALID_ARGUMENT');
export const isClosedError = errorGuard<ClosedError>('SLUICE_CLOSED');
export const isUnsupportedError = errorGuard<UnsupportedError>('SLUICE_UNSUPPORTED');
export const isDependencyMissingError = errorGuard<DependencyMissingError>(
  'SLUICE_DEPENDENCY_MISSING',
);
export const isLimiterUnavailableError = errorGuard<LimiterUnavailableError>(
  'SLUICE_LIMITER_UNAVAILABLE',
);

/** The `retryAfter` hint (ms) an error carries, if any, whatever produced it. */
export function retryAfterOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const value = (error as { retryAfter?: unknown }).retryAfter;
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}
