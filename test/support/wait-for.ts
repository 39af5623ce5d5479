import { setTimeout as delay } from 'node:timers/promises';

export interface WaitOptions {
  /** A safety net, not a threshold: how long before the wait fails. */
  timeoutMs?: number;
  /** How long to rest between two checks. */
  intervalMs?: number;
}

/**
 * Checks until `probe` returns a value other than `false` or `undefined`, and returns it;
 * fails naming `what` once `timeoutMs` has passed. An error `probe` throws fails the wait
 * at once: a probe that should try again on an error catches it itself.
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | Promise<T>,
  { timeoutMs = 30_000, intervalMs = 10 }: WaitOptions = {},
): Promise<Exclude<T, false | undefined>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== false && value !== undefined) return value as Exclude<T, false | undefined>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(intervalMs);
  }
}
