import { AbortedError, isSluiceError, type SluiceError, TimeoutError } from './errors.js';

/**
 * The error an aborted signal stands for: its reason when that is already a SluiceError,
 * a TimeoutError for `AbortSignal.timeout()`, otherwise an AbortedError carrying the reason
 * as its cause.
 */
export function abortError(signal: AbortSignal): SluiceError {
  const reason: unknown = signal.reason;
  if (isSluiceError(reason)) return reason;
  if (reason instanceof Error && reason.name === 'TimeoutError') {
    // AbortSignal.timeout() does not say how long it waited.
    const error = new TimeoutError(Number.NaN, { cause: reason });
    error.message = 'Operation timed out';
    return error;
  }
  return new AbortedError(undefined, reason === undefined ? undefined : { cause: reason });
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

/** A signal combining others, that must be disposed of once the work it guards is done. */
export interface CombinedSignal extends Disposable {
  readonly signal: AbortSignal;
  /** Removes the listeners this combination left on its parents. Idempotent. */
  dispose(): void;
}

const noop = (): void => {};

/**
 * Aborts when any of `signals` aborts, with that signal's reason; `undefined` entries are
 * skipped so optional signals can be passed straight through.
 *
 * Node 20's `AbortSignal.any()` leaks when one parent lives long (a process-wide shutdown
 * signal combined once per request): a combined signal with an abort listener stays
 * reachable from the parent until the parent aborts (measured: about 1 KB per call). Rather
 * than rely on garbage collection, the listeners this leaves on the parents are removed on
 * `dispose()` or as soon as the combination aborts, whichever comes first: call `dispose()`
 * in a `finally`. Forgetting it keeps one listener per call on each parent.
 */
export function anySignal(...signals: (AbortSignal | undefined)[]): CombinedSignal {
  const parents = signals.filter((s): s is AbortSignal => s !== undefined);
  const aborted = parents.find((s) => s.aborted);
  if (aborted !== undefined) return settled(AbortSignal.abort(aborted.reason));
  if (parents.length === 1) return settled(parents[0]!);
  if (parents.length === 0) return settled(new AbortController().signal);

  const controller = new AbortController();
  const listeners: (() => void)[] = [];
  const dispose = (): void => {
    for (let i = 0; i < parents.length; i++) {
      parents[i]!.removeEventListener('abort', listeners[i]!);
    }
    listeners.length = 0;
  };
  for (const parent of parents) {
    const onAbort = (): void => {
      dispose();
      controller.abort(parent.reason);
    };
    listeners.push(onAbort);
    parent.addEventListener('abort', onAbort, { once: true });
  }
  return { signal: controller.signal, dispose, [Symbol.dispose]: dispose };
}

function settled(signal: AbortSignal): CombinedSignal {
  return { signal, dispose: noop, [Symbol.dispose]: noop };
}

export interface SleepOptions {
  signal?: AbortSignal | undefined;
  /** Let the process exit while sleeping. Default false. */
  unref?: boolean;
}

/** Resolves after `ms`; rejects with the signal's error (see `abortError`) when aborted. */
export function sleep(ms: number, options: SleepOptions = {}): Promise<void> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(abortError(signal));
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    if (options.unref === true) timer.unref();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
