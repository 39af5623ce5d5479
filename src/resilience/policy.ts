import type { ExecutionContext } from './context.js';

/** What every policy hands to the work it runs. */
export interface PolicyContext {
  /**
   * Aborts when the caller's signal aborts or an enclosing policy gives up on the work
   * (a timeout fires, a hedge loses). Created on first read: work that never reads it
   * costs no AbortController.
   */
  readonly signal: AbortSignal;
  /** 1-based; counts attempts made by the nearest enclosing `retry`. */
  readonly attempt: number;
}

export interface ExecuteOptions {
  signal?: AbortSignal;
}

export type Work<T> = (context: PolicyContext) => T | PromiseLike<T>;

/** The one shape of every policy, so `wrap(...)` composes any of them. */
export interface Policy {
  execute<T>(fn: Work<T>, options?: ExecuteOptions): Promise<T>;
}

/**
 * Sluice's own policies also run inside a parent context without materialising its
 * signal, which is what keeps `wrap(retry, breaker, timeout)` free of AbortControllers on
 * the success path. Policies written elsewhere only need `execute`.
 */
export const runIn: unique symbol = Symbol('sluice.policy.runIn');

export interface ComposablePolicy extends Policy {
  [runIn]<T>(fn: Work<T>, context: ExecutionContext): Promise<T>;
}

export function isComposable(policy: Policy): policy is ComposablePolicy {
  return typeof (policy as Partial<ComposablePolicy>)[runIn] === 'function';
}
