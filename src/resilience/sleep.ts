import type { ExecutionContext } from './context.js';

/** Resolves after `ms`, or rejects at once with the context's abort error if it aborts. */
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
