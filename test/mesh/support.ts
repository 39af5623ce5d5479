import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { createLogger } from '../../src/observe/logger.js';

export const trustDomain = 'meshctl.test';
export const quiet = createLogger({ name: 'meshctl-test', level: 'silent' });

/** A temporary directory removed when the test file ends. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'meshctl-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Resolves with the first value `take` returns that is not undefined, from calls of a listener. */
export function nextValue<T, R>(
  subscribe: (listener: (value: T) => void) => () => void,
  take: (value: T) => R | undefined,
): Promise<R> {
  return new Promise((resolve) => {
    let stop: (() => void) | undefined;
    let done = false;
    stop = subscribe((value) => {
      const result = take(value);
      if (result === undefined || done) return;
      done = true;
      queueMicrotask(() => stop?.());
      resolve(result);
    });
    if (done) stop();
  });
}
