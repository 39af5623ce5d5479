import type { ExecutionContext } from './context.js';
import type { Work } from './policy.js';

/** Runs the work and returns a native promise, a synchronous throw becoming a rejection. */
export function invoke<T>(fn: Work<T>, context: ExecutionContext): Promise<T> {
  try {
    return Promise.resolve(fn(context));
  } catch (error) {
    return Promise.reject(error);
  }
}
