import { InvalidArgumentError } from '../core/errors.js';
import { PolicyBase } from './base.js';
import { ExecutionContext } from './context.js';
import type { FallbackPolicy } from './fallback.js';
import { isComposable, type Policy, type PolicyContext, runIn, type Work } from './policy.js';

type Layer = <T>(fn: Work<T>, context: ExecutionContext) => Promise<T>;

function layerOf(policy: Policy): Layer {
  if (isComposable(policy)) return (fn, context) => policy[runIn](fn, context);
  // A policy written elsewhere gets a real signal; the layers inside it see its context.
  return (fn, context) => policy.execute((inner) => fn(adopt(inner)), { signal: context.signal });
}

function adopt(inner: PolicyContext): ExecutionContext {
  return inner instanceof ExecutionContext
    ? inner
    : ExecutionContext.root(inner.signal, inner.attempt);
}

/** Policies composed outermost first: `wrap(retry, breaker, timeout)`. */
export class WrappedPolicy extends PolicyBase {
  private readonly layers: readonly Layer[];

  constructor(readonly policies: readonly Policy[]) {
    super();
    this.layers = policies.map(layerOf);
  }

  [runIn]<T>(fn: Work<T>, context: ExecutionContext): Promise<T> {
    return this.from(0, fn, context);
  }

  private from<T>(index: number, fn: Work<T>, context: ExecutionContext): Promise<T> {
    const layer = this.layers[index]!;
    if (index === this.layers.length - 1) return layer(fn, context);
    return layer((inner) => this.from(index + 1, fn, inner as ExecutionContext), context);
  }
}

export function wrap<F>(outer: FallbackPolicy<F>, ...inner: Policy[]): FallbackPolicy<F>;
export function wrap(...policies: Policy[]): Policy;
export function wrap(...policies: (Policy | FallbackPolicy<unknown>)[]): Policy {
  if (policies.length === 0) throw new InvalidArgumentError('wrap() needs at least one policy');
  return new WrappedPolicy(policies as Policy[]);
}
