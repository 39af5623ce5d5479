import type { ExecutionContext } from './context.js';

/**
 * Resolves after `ms`, or rejects at once with the context's abort error if it aborts.
 * core's `sleep` takes an AbortSignal; this one listens on the lazy ExecutionContext, so a
 * retry's backoff does not make the context create its AbortController on the hot path.
 */
export function sleep(ms: number, context: ExecutionContext): Promise<void> {
  if (context.aborted) return Promise.reject(context.abortError());
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stopListening();
      resolve();
    }, ms);
    const stopListening = context.onAbort(() => {
      clearTimeout(timer);
      reject(context.abortError());
    });
  });
}
