import { mkdirSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/** Where the browser tests and the benchmark save screenshots (ignored by git). */
export const SCREENSHOTS = new URL('../../test-output/dashboard/', import.meta.url);

/** Debian's chromium, headless, with nothing that reaches the network on its own. */
export async function launchChromium(): Promise<Browser> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}
