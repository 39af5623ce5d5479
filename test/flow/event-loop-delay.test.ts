// The one event-loop monitor the process keeps (flow/event-loop-delay.ts), measured against
// real blocks of the loop: each test file runs in a process of its own.
import { it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { recentEventLoopDelayMs } from '../../src/flow/index.js';
import { waitFor } from '../support/wait-for.js';

const BLOCK_MS = 300;

/** Holds the event loop for `ms`, as a slow synchronous handler would. */
function block(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy
  }
}

/** Waits until the reading holds a block of BLOCK_MS, which it does for 100-200 ms after it. */
async function blockSeen(what: string): Promise<void> {
  await waitFor(what, () => recentEventLoopDelayMs() >= BLOCK_MS - 50, { timeoutMs: 1_000 });
}

const idle = (): Promise<boolean> =>
  waitFor('the loop idle again', () => recentEventLoopDelayMs() < BLOCK_MS / 10);

it('reads one block of the loop as about its length, wherever it falls, then about 0 again', async () => {
  recentEventLoopDelayMs();
  // An interval as long as the monitor's window, started with it, fires right after the
  // monitor turns a window over: a monitor that reset a histogram there lost such a block.
  await new Promise<void>((resolve) => {
    let ticks = 0;
    const ticker = setInterval(() => {
      if (++ticks < 3) return;
      clearInterval(ticker);
      block(BLOCK_MS);
      resolve();
    }, 100);
  });
  await blockSeen('a block begun as a window turned over');
  // Blocks begun at other points of the monitor's windows.
  for (const pauseMs of [0, 20, 40, 60, 80]) {
    await idle();
    await delay(pauseMs);
    block(BLOCK_MS);
    await blockSeen(`a block begun ${pauseMs} ms after a pause`);
  }
  await idle();
});
