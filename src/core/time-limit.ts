import { TimeoutError } from './errors.js';

/**
 * Settles with `work`'s outcome, or with undefined once `ms` have passed: for waits that
 * give up and move on (a drain). With no time left, work that finishes within the current
 * turn (a synchronous stop) still counts as done. The work itself goes on either way.
 */
export async function within<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  let cancel = (): void => {};
  const timeout = new Promise<undefined>((resolve) => {
    if (ms > 0) {
      const timer = setTimeout(resolve, ms, undefined);
      cancel = () => clearTimeout(timer);
    } else {
      const immediate = setImmediate(resolve, undefined);
      cancel = () => clearImmediate(immediate);
    }
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    cancel();
  }
}

/**
 * Settles with `work`'s outcome, or rejects with a TimeoutError once `ms` have passed, for
 * work that takes no signal (a command already on the wire). Its timer never holds the
 * process open.
 */
export function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new TimeoutError(ms)), ms);
    timer.unref();
    work.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}
