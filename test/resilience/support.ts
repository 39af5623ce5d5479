import { mock } from 'node:test';

/** Lets pending promise callbacks run (setImmediate is left real by the fake timers). */
export const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Settles to 'pending' if the promise has not settled after the queued callbacks ran. */
export async function state(
  promise: Promise<unknown>,
): Promise<'pending' | 'fulfilled' | 'rejected'> {
  let result: 'pending' | 'fulfilled' | 'rejected' = 'pending';
  promise.then(
    () => {
      result = 'fulfilled';
    },
    () => {
      result = 'rejected';
    },
  );
  await flush();
  return result;
}

/**
 * Moves fake time forward one ms at a time. Node 20's fake timers do not run a timer that
 * another timer sets during one big `tick`, and the deadline wheel re-arms its timer.
 */
export function advance(ms: number): void {
  for (let i = 0; i < ms; i++) mock.timers.tick(1);
}
