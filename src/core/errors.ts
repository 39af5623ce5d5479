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

export class TimeoutError extends SluiceError {
  constructor(
    readonly timeoutMs: number,
    options?: SluiceErrorOptions,
  ) {
    super('SLUICE_TIMEOUT', `Operation timed out after ${timeoutMs} ms`, options);
    this.name = 'TimeoutError';
  }
}

export class AbortedError extends SluiceError {
  constructor(message = 'Operation was aborted', options?: SluiceErrorOptions) {
    super('SLUICE_ABORTED', message, options);
    this.name = 'AbortedError';
  }
}

export class CircuitOpenError extends SluiceError {
  constructor(message = 'Circuit breaker is open', options?: SluiceErrorOptions) {
    super('SLUICE_CIRCUIT_OPEN', message, options);
    this.name = 'CircuitOpenError';
  }
}

export class BulkheadFullError extends SluiceError {
  constructor(message = 'Bulkhead is full', options?: SluiceErrorOptions) {
    super('SLUICE_BULKHEAD_FULL', message, options);
    this.name = 'BulkheadFullError';
  }
}

export class RateLimitedError extends SluiceError {
  constructor(message = 'Rate limit exceeded', options?: SluiceErrorOptions) {
    super('SLUICE_RATE_LIMITED', message, options);
    this.name = 'RateLimitedError';
  }
}

export class LoadShedError extends SluiceError {
  constructor(message = 'Load shed: too many requests in progress', options?: SluiceErrorOptions) {
    super('SLUICE_LOAD_SHED', message, options);
    this.name = 'LoadShedError';
  }
}

export class QueueFullError extends SluiceError {
  constructor(message = 'Queue is full', options?: SluiceErrorOptions) {
    super('SLUICE_QUEUE_FULL', message, options);
    this.name = 'QueueFullError';
  }
}

export class RetryBudgetExhaustedError extends SluiceError {
  constructor(message = 'Retry budget exhausted', options?: SluiceErrorOptions) {
    super('SLUICE_RETRY_BUDGET_EXHAUSTED', message, options);
    this.name = 'RetryBudgetExhaustedError';
  }
}

export class InvalidArgumentError extends SluiceError {
  constructor(message: string, options?: SluiceErrorOptions) {
    super('SLUICE_INVALID_ARGUMENT', message, options);
    this.name = 'InvalidArgumentError';
  }
}

export class ClosedError extends SluiceError {
  constructor(message = 'Component is closed', options?: SluiceErrorOptions) {
    super('SLUICE_CLOSED', message, options);
    this.name = 'ClosedError';
  }
}

export class UnsupportedError extends SluiceError {
  constructor(message: string, options?: SluiceErrorOptions) {
    super('SLUICE_UNSUPPORTED', message, options);
    this.name = 'UnsupportedError';
  }
}

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

export class LimiterUnavailableError extends SluiceError {
  constructor(message: string, options?: SluiceErrorOptions) {
    super('SLUICE_LIMITER_UNAVAILABLE', message, options);
    this.name = 'LimiterUnavailableError';
  }
}

/** The engine (broker, database) cannot be reached right now: the call was not carried out. */
export class EngineUnavailableError extends SluiceError {
  constructor(message: string, options?: SluiceErrorOptions) {
    super('SLUICE_ENGINE_UNAVAILABLE', message, options);
    this.name = 'EngineUnavailableError';
  }
}

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

export const isTimeoutError = (e: unknown): e is TimeoutError => isSluiceError(e, 'SLUICE_TIMEOUT');
export const isAbortedError = (e: unknown): e is AbortedError => isSluiceError(e, 'SLUICE_ABORTED');
export const isCircuitOpenError = (e: unknown): e is CircuitOpenError =>
  isSluiceError(e, 'SLUICE_CIRCUIT_OPEN');
export const isBulkheadFullError = (e: unknown): e is BulkheadFullError =>
  isSluiceError(e, 'SLUICE_BULKHEAD_FULL');
export const isRateLimitedError = (e: unknown): e is RateLimitedError =>
  isSluiceError(e, 'SLUICE_RATE_LIMITED');
export const isLoadShedError = (e: unknown): e is LoadShedError =>
  isSluiceError(e, 'SLUICE_LOAD_SHED');
export const isQueueFullError = (e: unknown): e is QueueFullError =>
  isSluiceError(e, 'SLUICE_QUEUE_FULL');
export const isEngineUnavailableError = (e: unknown): e is EngineUnavailableError =>
  isSluiceError(e, 'SLUICE_ENGINE_UNAVAILABLE');
export const isConfigError = (e: unknown): e is ConfigError =>
  isSluiceError(e, 'SLUICE_CONFIG_INVALID');
export const isRetryBudgetExhaustedError = (e: unknown): e is RetryBudgetExhaustedError =>
  isSluiceError(e, 'SLUICE_RETRY_BUDGET_EXHAUSTED');
export const isInvalidArgumentError = (e: unknown): e is InvalidArgumentError =>
  isSluiceError(e, 'SLUICE_INVALID_ARGUMENT');
export const isClosedError = (e: unknown): e is ClosedError => isSluiceError(e, 'SLUICE_CLOSED');
export const isUnsupportedError = (e: unknown): e is UnsupportedError =>
  isSluiceError(e, 'SLUICE_UNSUPPORTED');
export const isDependencyMissingError = (e: unknown): e is DependencyMissingError =>
  isSluiceError(e, 'SLUICE_DEPENDENCY_MISSING');
export const isLimiterUnavailableError = (e: unknown): e is LimiterUnavailableError =>
  isSluiceError(e, 'SLUICE_LIMITER_UNAVAILABLE');

/** The `retryAfter` hint (ms) an error carries, if any, whatever produced it. */
export function retryAfterOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const value = (error as { retryAfter?: unknown }).retryAfter;
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}
