import { ExecutionContext } from './context.js';
import { type ExecuteOptions, type PolicyContext, runIn, type Work } from './policy.js';

export interface FallbackOptions {
  /** Which errors the fallback answers; default every error. */
  when?: (error: unknown) => boolean;
}

/** A value, or a function of the error that produces one (a function is always called). */
export type FallbackValue<F> = F | ((error: unknown, context: PolicyContext) => F | PromiseLike<F>);

/**
 * Answers with a substitute when the work fails. Its result type widens to `T | F`, so
 * in `wrap(...)` it can only come first (outermost).
 */
export class FallbackPolicy<F> {
  constructor(
    private readonly value: FallbackValue<F>,
    private readonly options: FallbackOptions = {},
  ) {}

  execute<T>(fn: Work<T>, options?: ExecuteOptions): Promise<T | F> {
    const context = ExecutionContext.root(options?.signal);
    if (context.aborted) return Promise.reject(context.abortError());
    return this[runIn](fn, context);
  }

  async [runIn]<T>(fn: Work<T>, context: ExecutionContext): Promise<T | F> {
    try {
      return await fn(context);
    } catch (error) {
      if (context.aborted || (this.options.when !== undefined && !this.options.when(error))) {
        throw error;
      }
      const value = this.value;
      return typeof value === 'function'
        ? (value as (error: unknown, context: PolicyContext) => F | PromiseLike<F>)(error, context)
        : value;
    }
  }
}

export function fallback<F>(value: FallbackValue<F>, options?: FallbackOptions): FallbackPolicy<F> {
  return new FallbackPolicy(value, options);
}
