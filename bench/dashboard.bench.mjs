// Page weight and first render of every dashboard page, in Debian's chromium, against a
// running storefront (started with its dashboard by test/dashboard/serve.ts). Weight: bytes
// over the wire (gzip, headers included) for a first visit with an empty cache, from the
// browser's resource timing. Server: time to the first byte (the page's head, sent before
// its figures are read) and to the last (the whole page). First render: first contentful
// paint, cold (empty cache) and warm (assets cached, as on every visit after the first);
// and, cold, the largest contentful paint (the page's main content). Medians of ROUNDS visits.
// Goals: every page under 150 KB over the wire; first render under 300 ms locally.
// Usage (after `npm run build` at the root): cd bench && node dashboard.bench.mjs
import { spawn } from 'node:child_process';
import os from 'node:os';
import { createInterface } from 'node:readline';
import { tsImport } from 'tsx/esm/api';
import { machine, median } from './lib.mjs';

// The browser the dashboard's browser tests use, launched the same way.
const { launchChromium } = await tsImport('../test/dashboard/browser.ts', import.meta.url);

const ROUNDS = 5;
const PAGES = ['traces', 'logs', 'services', 'queues', 'topology', 'policies', 'gateway'];
const root = new URL('..', import.meta.url);

const server = spawn(process.execPath, ['--import', 'tsx', 'test/dashboard/serve.ts'], {
  cwd: root,
  stdio: ['ignore', 'pipe', 'inherit'],
});
server.on('error', (error) => {
  console.error(error);
  process.exit(1);
});
const { url } = await new Promise((resolve, reject) => {
  const lines = createInterface({ input: server.stdout });
  lines.on('line', (line) => {
    if (line.startsWith('{"url"')) resolve(JSON.parse(line));
  });
  server.once('exit', (code) => reject(new Error(`the storefront exited (${code})`)));
});

const browser = await launchChromium();

/** One visit: bytes over the wire and first contentful paint, in a context of its own. */
async function visit(context, path) {
  const page = await context.newPage();
  await page.goto(`${url}${path}`, { waitUntil: 'load' });
  // Reported as the page paints; after the load event it is the last one (none: NaN).
  const lcp = await page.evaluate(
    () =>
      new Promise((resolve) => {
        new PerformanceObserver((list) => resolve(list.getEntries().at(-1).startTime)).observe({
          type: 'largest-contentful-paint',
          buffered: true,
        });
        setTimeout(() => resolve(Number.NaN), 1000);
      }),
  );
  const figures = await page.evaluate(() => {
    const entries = [
      ...performance.getEntriesByType('navigation'),
      ...performance.getEntriesByType('resource'),
    ];
    const paint = performance.getEntriesByName('first-contentful-paint')[0];
    const [navigation] = performance.getEntriesByType('navigation');
    return {
      server: navigation.responseStart - navigation.requestStart,
      whole: navigation.responseEnd - navigation.requestStart,
      bytes: entries.reduce((sum, e) => sum + e.transferSize, 0),
      fcp: paint ? paint.startTime : Number.NaN,
    };
  });
  await page.close();
  return { ...figures, lcp };
}

try {
  const probe = await browser.newContext();
  const tracesPage = await probe.newPage();
  await tracesPage.goto(`${url}/traces`);
  const trace = await tracesPage.locator('#live a[href^="/traces/"]').first().getAttribute('href');
  await probe.close();
  const paths = [...PAGES.map((p) => `/${p}`), ...(trace ? [trace] : [])];

  const rows = [];
  for (const path of paths) {
    const bytes = [];
    const cold = [];
    const warm = [];
    const server = [];
    const whole = [];
    const largest = [];
    for (let i = 0; i < ROUNDS; i++) {
      const context = await browser.newContext();
      const first = await visit(context, path);
      bytes.push(first.bytes);
      cold.push(first.fcp);
      server.push(first.server);
      whole.push(first.whole);
      largest.push(first.lcp);
      warm.push((await visit(context, path)).fcp);
      await context.close();
    }
    // A visit whose first paint the browser did not report (rare, headless) is left out.
    const known = (values) => values.filter((v) => Number.isFinite(v));
    rows.push({
      path,
      kb: median(bytes) / 1024,
      server: median(server),
      whole: median(whole),
      cold: median(known(cold)),
      largest: median(known(largest)),
      warm: median(known(warm)),
    });
  }
  const load = os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
  console.log(
    `dashboard pages, ${machine()}, load average ${load}, chromium headless, medians of ${ROUNDS} visits`,
  );
  console.log(
    'page                        KB over the wire   server head  whole   first render cold   warm   largest cold',
  );
  for (const r of rows) {
    const name = r.path.length > 26 ? `${r.path.slice(0, 23)}...` : r.path;
    console.log(
      `${name.padEnd(28)}${r.kb.toFixed(1).padStart(16)}${r.server.toFixed(0).padStart(11)} ms${r.whole.toFixed(0).padStart(4)} ms${r.cold.toFixed(0).padStart(17)} ms${r.warm.toFixed(0).padStart(4)} ms${r.largest.toFixed(0).padStart(12)} ms`,
    );
  }
  const heaviest = Math.max(...rows.map((r) => r.kb));
  const slowest = Math.max(...rows.map((r) => r.cold));
  console.log(
    `goals: every page < 150 KB (heaviest ${heaviest.toFixed(1)} KB: ${heaviest < 150 ? 'met' : 'MISSED'}), ` +
      `first render < 300 ms (slowest cold ${slowest.toFixed(0)} ms: ${slowest < 300 ? 'met' : 'MISSED'})`,
  );
} finally {
  await browser.close();
  server.kill('SIGTERM');
}
