// Memory of the supervisor over a long run, with the telemetry store capped. Starts the
// storefront with `sluice up` (the built CLI, dist/cli/main.js) from a copy of its
// sluice.yaml on ports 55000-55999, messaging on SQLite in a temporary folder, the store's
// caps made small so that they are reached within the run, and the login route's rate
// limits removed (every `sluice load` logs its users in again). A short ramp of `sluice load`
// (15 s at each rate) finds the highest rate the storefront holds here: no 5xx or transport
// errors, every order settled, p99 under P99_BOUND_MS. Then `sluice load` runs at that rate
// for the soak while the supervisor's RSS and anonymous memory (VmRSS and RssAnon of
// /proc/<pid>/status: RssAnon is the JS heap and native allocations, without mapped files)
// and the store's row and drop counters (the supervisor's /metrics) are read every 10 s.
// Needs: a built package (`npm run build` in the repository). Nothing else.
// Usage: node --expose-gc soak.bench.mjs [--minutes 10]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { machine, median } from './lib.mjs';
import { waitForPort } from './ports.mjs';

const { values } = parseArgs({
  options: { minutes: { type: 'string', default: '10' } },
  strict: true,
});
const MINUTES = Number(values.minutes);
if (!(MINUTES > 0)) throw new Error(`--minutes: expected a number above 0, got ${values.minutes}`);

// Small enough that each fills within the first minutes at 20 arrivals/s (spans and samples
// arrive at about 50/s, logs at about 6/s).
const CAPS = { maxSpans: 10_000, maxLogs: 2_000, maxSamples: 20_000 };
const RAMP = [20, 30, 40, 60, 80, 120];
const RAMP_SECONDS = 15;
const P99_BOUND_MS = 500;
const SAMPLE_MS = 10_000;
const PORTS = {
  services: 55001, // 55001..55007 for auth, catalog, ..., billing
  gateway: 55080,
  metrics: 55464,
  control: 55465,
  store: 55466,
};

const repo = fileURLToPath(new URL('../', import.meta.url));
const storefrontDir = join(repo, 'examples/storefront');
const cli = join(repo, 'dist/cli/main.js');
const dataDir = mkdtempSync(join(os.tmpdir(), 'sluice-soak-'));

/** The storefront's sluice.yaml with its ports moved, services run from their folder, store capped. */
function soakConfig() {
  let text = readFileSync(join(storefrontDir, 'sluice.yaml'), 'utf8');
  text = text.replace(
    /127\.0\.0\.1:300(\d)/g,
    (_, n) => `127.0.0.1:${PORTS.services - 1 + Number(n)}`,
  );
  text = text.replace(/^(\s+)port: 300(\d)$/gm, (_, indent, n) => {
    return `${indent}port: ${PORTS.services - 1 + Number(n)}\n${indent}cwd: ${storefrontDir}`;
  });
  // Every `sluice load` logs its users in, and the ramp runs it several times in a minute:
  // the login route's limits per address (5/min, 20/h) would refuse the later runs.
  const loginLimits =
    '      rateLimit:\n        - { by: ip, limit: 5/min }\n        - { by: ip, limit: 20/h }\n';
  if (!text.includes(loginLimits)) throw new Error('the login rate limits moved in sluice.yaml');
  text = text.replace(loginLimits, '');
  text = text.replace('listen: 127.0.0.1:8080', `listen: 127.0.0.1:${PORTS.gateway}`);
  text = text.replace('metrics: { port: 9464 }', `metrics: { port: ${PORTS.metrics} }`);
  text = text.replace('control: { port: 9465 }', `control: { port: ${PORTS.control} }`);
  text = text.replace(
    /store: \{ path: "[^"]*", port: 9466 \}/,
    `store: { path: "${dataDir}/telemetry.db", port: ${PORTS.store}, maxSpans: ${CAPS.maxSpans}, maxLogs: ${CAPS.maxLogs}, maxSamples: ${CAPS.maxSamples} }`,
  );
  for (const port of [3001, 8080, 9464, 9465, 9466]) {
    if (text.includes(String(port))) throw new Error(`port ${port} left in the soak config`);
  }
  const file = join(dataDir, 'sluice.yaml');
  writeFileSync(file, text);
  return file;
}

// ---- the supervisor ----------------------------------------------------------------------

let supervisor;
let supervisorLog = '';

async function startStorefront() {
  const file = soakConfig();
  supervisor = spawn(process.execPath, [cli, 'up', file], {
    cwd: dataDir,
    env: { ...process.env, SLUICE_DATA: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (chunk) => {
    supervisorLog = (supervisorLog + chunk).slice(-20_000);
  };
  supervisor.stdout.on('data', keep);
  supervisor.stderr.on('data', keep);
  supervisor.on('error', (error) => keep(`spawn failed: ${error.message}\n`));
  const exited = new Promise((_, reject) =>
    supervisor.once('exit', (code) => reject(new Error(`sluice up exited (${code})`))),
  );
  await Promise.race([exited, waitForPort(PORTS.gateway, 120_000)]);
  // Ready when a product list comes through the gateway (the services are up behind it).
  const until = Date.now() + 120_000;
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${PORTS.gateway}/api/products/`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) break;
    if (Date.now() > until) throw new Error('the storefront did not become ready in 120 s');
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function stopStorefront() {
  if (!supervisor || supervisor.exitCode !== null || supervisor.signalCode !== null) return;
  const exited = new Promise((resolve) => supervisor.once('exit', resolve));
  supervisor.kill('SIGTERM');
  const timer = setTimeout(() => supervisor.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

// ---- load --------------------------------------------------------------------------------

function runLoad(rate, seconds) {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        cli,
        'load',
        '--url',
        `http://127.0.0.1:${PORTS.gateway}`,
        '--rate',
        `${rate}/s`,
        '--duration',
        `${seconds}s`,
        '--users',
        '4',
        '--settle',
        '30s',
        '--json',
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    current = child;
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      current = undefined;
      if (code !== 0) return reject(new Error(`sluice load exited ${code}`));
      try {
        resolve(JSON.parse(out));
      } catch (error) {
        reject(error);
      }
    });
  });
}
let current;

/** Whether a run held: no 5xx, no transport error, every order settled, p99 under the bound. */
function verdict(summary) {
  const s = summary.requests.byStatus;
  const reasons = [];
  if (s['5xx'] > 0) reasons.push(`${s['5xx']} 5xx`);
  if (s.error > 0) reasons.push(`${s.error} errors`);
  if (summary.orders.pending > 0) reasons.push(`${summary.orders.pending} orders unsettled`);
  if (!(summary.latencyMs.p99 < P99_BOUND_MS)) reasons.push(`p99 ${summary.latencyMs.p99} ms`);
  return reasons;
}

function describe(summary) {
  const s = summary.requests.byStatus;
  return (
    `${summary.requests.perSecond} req/s, 2xx ${s['2xx']} 4xx ${s['4xx']} 5xx ${s['5xx']} ` +
    `errors ${s.error}, p50 ${summary.latencyMs.p50} ms p99 ${summary.latencyMs.p99} ms, ` +
    `orders ${summary.orders.placed} (fulfilled ${summary.orders.fulfilled}, ` +
    `payment failed ${summary.orders.paymentFailed}, pending ${summary.orders.pending})`
  );
}

// ---- sampling ----------------------------------------------------------------------------

function statusKb(pid, field) {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(
    new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'),
  );
  return m ? Number(m[1]) : Number.NaN;
}

/** Values of a metric family from a Prometheus text page, by their label string. */
function family(text, name) {
  const found = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = line.match(/^([a-z_:]+)(\{[^}]*\})?\s+(\S+)/i);
    if (m && m[1] === name) found[m[2] ?? ''] = Number(m[3]);
  }
  return found;
}

async function sample(startedAt) {
  const page = await fetch(`http://127.0.0.1:${PORTS.metrics}/metrics`)
    .then((r) => r.text())
    .catch(() => '');
  return {
    atS: Math.round((Date.now() - startedAt) / 1000),
    rssMb: statusKb(supervisor.pid, 'VmRSS') / 1024,
    anonMb: statusKb(supervisor.pid, 'RssAnon') / 1024,
    stored: family(page, 'sluice_telemetry_stored'),
    dropped: family(page, 'sluice_telemetry_dropped_total'),
    load1: os.loadavg()[0],
  };
}

/** Least-squares slope of RSS against time, in MB per minute. */
function slopePerMinute(samples) {
  const xs = samples.map((s) => s.atS / 60);
  const ys = samples.map((s) => s.rssMb);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

const mb = (n) => (Number.isNaN(n) ? '-' : n.toFixed(1));
const signalOf = (labels) => labels.match(/signal="([^"]+)"/)?.[1];

// ---- the run -----------------------------------------------------------------------------

async function main() {
  console.log(machine());
  console.log(
    `caps: maxSpans ${CAPS.maxSpans}, maxLogs ${CAPS.maxLogs}, maxSamples ${CAPS.maxSamples}; ` +
      `holds = no 5xx or errors, all orders settled, p99 < ${P99_BOUND_MS} ms`,
  );
  await startStorefront();
  console.log(`storefront up; supervisor pid ${supervisor.pid}, data in ${dataDir}`);

  let held;
  for (const rate of RAMP) {
    const summary = await runLoad(rate, RAMP_SECONDS);
    const reasons = verdict(summary);
    console.log(
      `ramp ${rate}/s: ${describe(summary)}${reasons.length ? `  -> not held: ${reasons.join(', ')}` : '  -> held'}`,
    );
    if (reasons.length) break;
    held = rate;
  }
  if (held === undefined) throw new Error(`the storefront holds none of ${RAMP.join(', ')}/s here`);
  console.log(`\nsoak: ${held}/s for ${MINUTES} min`);

  const startedAt = Date.now();
  const samples = [];
  samples.push(await sample(startedAt));
  const timer = setInterval(() => {
    sample(startedAt).then(
      (s) => samples.push(s),
      () => {},
    );
  }, SAMPLE_MS);
  let summary;
  try {
    summary = await runLoad(held, MINUTES * 60);
  } finally {
    clearInterval(timer);
  }
  samples.push(await sample(startedAt));
  const reasons = verdict(summary);
  console.log(
    `load: ${describe(summary)}${reasons.length ? `  -> not held: ${reasons.join(', ')}` : ''}`,
  );

  console.log('\n  min    RSS MB   anon MB   spans   logs   samples   load1');
  for (let minute = 0; minute <= MINUTES; minute++) {
    const s = samples.reduce((best, x) =>
      Math.abs(x.atS - minute * 60) < Math.abs(best.atS - minute * 60) ? x : best,
    );
    const stored = Object.fromEntries(Object.entries(s.stored).map(([k, v]) => [signalOf(k), v]));
    console.log(
      `  ${String(minute).padStart(3)}  ${mb(s.rssMb).padStart(8)}  ${mb(s.anonMb).padStart(8)}  ` +
        `${String(stored.spans ?? '-').padStart(6)}  ${String(stored.logs ?? '-').padStart(5)}  ` +
        `${String(stored.samples ?? '-').padStart(8)}  ${s.load1.toFixed(2).padStart(6)}`,
    );
  }
  const inMinute = (from, to) => samples.filter((s) => s.atS >= from * 60 && s.atS <= to * 60);
  const first = median(inMinute(0, 1).map((s) => s.rssMb));
  const last = median(inMinute(MINUTES - 1, MINUTES).map((s) => s.rssMb));
  const secondHalf = samples.filter((s) => s.atS >= (MINUTES * 60) / 2);
  console.log(
    `\nRSS median: first minute ${mb(first)} MB, last minute ${mb(last)} MB (${(last / first).toFixed(2)}x); ` +
      `slope over the second half ${slopePerMinute(secondHalf).toFixed(2)} MB/min`,
  );
  const end = samples.at(-1);
  const cap = { spans: CAPS.maxSpans, logs: CAPS.maxLogs, samples: CAPS.maxSamples };
  for (const [labels, n] of Object.entries(end.stored)) {
    const signal = signalOf(labels);
    const dropped = Object.entries(end.dropped)
      .filter(([l]) => signalOf(l) === signal)
      .map(([l, v]) => `${l.match(/reason="([^"]+)"/)?.[1]} ${v}`)
      .join(', ');
    console.log(`store ${signal}: ${n} of ${cap[signal]}; dropped ${dropped || '-'}`);
  }
  const loads = samples.map((s) => s.load1);
  console.log(
    `load average (1 min) during the soak: median ${median(loads).toFixed(2)}, max ${Math.max(...loads).toFixed(2)} on ${os.cpus().length} cores`,
  );
}

let failed = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    current?.kill('SIGTERM');
    supervisor?.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(1);
  });
}
try {
  await main();
} catch (error) {
  failed = true;
  console.error(`soak failed: ${error.message}`);
  console.error(supervisorLog.split('\n').slice(-30).join('\n'));
} finally {
  current?.kill('SIGTERM');
  await stopStorefront();
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
