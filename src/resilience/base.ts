import { ExecutionContext } from './context.js';
import { type ComposablePolicy, type ExecuteOptions, runIn, type Work } from './policy.js';

/** `execute` for every built-in policy: a root context, then the policy's own `runIn`. */
export abstract class PolicyBase implements ComposablePolicy {
  execute<T>(fn: Work<T>, options?: ExecuteOptions): Promise<T> {
    const context = ExecutionContext.root(options?.signal);
    if (context.aborted) return Promise.reject(context.abortError());
    return this[runIn](fn, context);
  }

  abstract [runIn]<T>(fn: Work<T>, context: ExecutionContext): Promise<T>;
}
