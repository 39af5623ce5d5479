// The gateway under overload. One upstream takes 50 ms per request, 20 at a time (400/s;
// the rest wait in its queue, as a thread pool's accept queue does); open-loop arrivals at
// a quarter of that (unloaded), 2x and 4x, each for a fixed time, while a second route to
// another upstream takes a steady 20/s. The same run with the gateway's protections on (its
// defaults: an adaptive limit per upstream, plus the README's `shedding`) and off
// (`concurrency: false`, `shedding: false`), side by side. Latency is counted from each
// request's scheduled send time, so a stalled gateway cannot hide its queueing.
// Usage (after `npm run build`): node --expose-gc overload.bench.mjs [seconds per phase, default 15]
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Conn } from './http-load.mjs';
import { machine, median, percentile } from './lib.mjs';
import { cpuMicros } from './proc.mjs';

const SERVICE_MS = 50;
const UPSTREAM_CONCURRENCY = 20;
const CAPACITY = (1000 / SERVICE_MS) * UPSTREAM_CONCURRENCY;
const OTHER_RATE = 20;
const OTHER_SERVICE_MS = 10;
const MAX_CONNECTIONS = 1_000;
const GRACE_SECONDS = 5;

const PROTECTED = {
  name: 'protected (defaults)',
  shedding: { maxInflight: 1000, maxEventLoopDelay: '500ms' },
  concurrency: undefined,
};
const UNPROTECTED = { name: 'unprotected', shedding: false, concurrency: false };

// ---- the processes under test ------------------------------------------------------------

/** The slow upstream (20 at a time, FIFO queue) and the other one, on ports 0. */
async function upstreams() {
  let active = 0;
  const queue = [];
  const begin = (res) => {
    active++;
    setTimeout(() => {
      active--;
      if (!res.destroyed) res.end('{"ok":true}');
      for (let next = queue.shift(); next; next = queue.shift()) {
        if (!next.destroyed) {
          begin(next);
          break;
        }
      }
    }, SERVICE_MS);
  };
  const slow = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': 11 });
    if (active < UPSTREAM_CONCURRENCY) begin(res);
    else queue.push(res);
  });
  const other = createServer((req, res) => {
    req.resume();
    setTimeout(() => res.writeHead(200, { 'content-length': 2 }).end('ok'), OTHER_SERVICE_MS);
  });
  const listen = (server) =>
    new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
  const ports = { slow: await listen(slow), other: await listen(other) };
  process.on('message', (m) => {
    if (m === 'stats') process.send({ active, queued: queue.filter((r) => !r.destroyed).length });
  });
  process.send({ ports });
}

async function gateway(ports, mode) {
  const { Gateway } = await import('sluice/gateway');
  const resilience = mode.concurrency === false ? { concurrency: false } : {};
  const gw = await Gateway.start({
    listen: '127.0.0.1:0',
    accessLog: false,
    metrics: false,
    shedding: mode.shedding,
    upstreams: {
      slow: { targets: [`http://127.0.0.1:${ports.slow}`], resilience },
      other: { targets: [`http://127.0.0.1:${ports.other}`], resilience },
    },
    routes: [
      { name: 'slow', path: '/slow', upstream: 'slow' },
      { name: 'healthz', path: '/healthz', upstream: 'other' },
    ],
  });
  process.on('message', (m) => {
    if (m === 'gc') {
      globalThis.gc?.();
      process.send('gc-done');
    } else if (m === 'limit') {
      process.send({ limit: gw.runtime.policies.get('slow')?.concurrency?.stats().limit ?? null });
    }
  });
  process.send({ url: gw.url });
}

// ---- the load ------------------------------------------------------------------------------

/**
 * Sends `rate` GETs per second for `seconds`, opening keep-alive connections as needed (at
 * most MAX_CONNECTIONS; a request due while all are busy waits, and its wait counts).
 * Gives up on what has not answered GRACE_SECONDS after the last send.
 */
function arrivals(url, { rate, seconds }) {
  const { hostname, port, pathname } = new URL(url);
  const request = Buffer.from(`GET ${pathname} HTTP/1.1\r\nhost: ${hostname}:${port}\r\n\r\n`);
  const total = Math.round(rate * seconds);
  const intervalMs = 1000 / rate;
  const result = {
    offered: total,
    ok: [],
    refused: [],
    lag: [],
    failed: 0,
    failures: {},
    settled: [],
    unfinished: 0,
    okInPhase: 0,
  };
  const idle = [];
  const conns = new Set();
  const backlog = [];
  let sent = 0;
  let done = 0;
  const start = performance.now();

  let finished = false;
  return new Promise((resolve) => {
    const finish = () => {
      finished = true;
      clearInterval(timer);
      for (const c of conns) c.close();
      result.unfinished = total - done;
      result.ok.sort((a, b) => a - b);
      result.refused.sort((a, b) => a - b);
      result.lag.sort((a, b) => a - b);
      result.settled.sort((a, b) => a - b);
      resolve(result);
    };
    const onResponse = (conn, status, head) => {
      if (finished) return;
      const now = performance.now() - start;
      const latency = now - conn.due;
      done++;
      if (status >= 200 && status < 300) {
        result.ok.push(latency);
        if (conn.due >= 1000) result.settled.push(latency);
        if (now <= seconds * 1000) result.okInPhase++;
      } else if (status === 503 && /\r\nretry-after:/i.test(head)) result.refused.push(latency);
      else {
        result.failed++;
        result.failures[status] = (result.failures[status] ?? 0) + 1;
      }
      idle.push(conn);
      dispatch();
    };
    const onError = (conn) => {
      if (conn.dead || finished) return;
      conn.dead = true;
      conns.delete(conn);
      const at = idle.indexOf(conn);
      if (at >= 0) idle.splice(at, 1);
      if (conn.busy) {
        done++;
        result.failed++;
        result.failures.socket = (result.failures.socket ?? 0) + 1;
      }
    };
    const open = () => {
      const conn = new Conn(hostname, Number(port), onResponse, () => onError(conn));
      conns.add(conn);
      return conn;
    };
    const dispatch = () => {
      const now = performance.now() - start;
      // Close what has idled for 2 s, before the server's keep-alive timeout can race a send.
      while (idle.length > 0 && now - idle[0].lastUsed > 2_000) {
        const stale = idle.shift();
        stale.dead = true;
        conns.delete(stale);
        stale.close();
      }
      while (sent < total && sent * intervalMs <= now) backlog.push(sent++ * intervalMs);
      while (backlog.length > 0) {
        const conn = idle.pop() ?? (conns.size < MAX_CONNECTIONS ? open() : undefined);
        if (conn === undefined) break;
        const due = backlog.shift();
        conn.lastUsed = now;
        result.lag.push(now - due);
        conn.send(request, due);
      }
      if (done === total || now > (seconds + GRACE_SECONDS) * 1000) finish();
    };
    const timer = setInterval(dispatch, 1);
  });
}

// ---- the run -------------------------------------------------------------------------------

function child(role, args, execArgv = []) {
  const proc = fork(fileURLToPath(import.meta.url), [role, ...args], {
    execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = () => new Promise((resolve) => proc.once('message', resolve));
  return { proc, next };
}

const rssMb = (pid) => {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) / 1024;
};

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function settle(up, gw) {
  for (let i = 0; i < 200; i++) {
    up.proc.send('stats');
    const { active, queued } = await up.next();
    if (active === 0 && queued === 0) break;
    await sleep(100);
  }
  await sleep(500);
  gw.proc.send('gc');
  await gw.next();
  return rssMb(gw.proc.pid);
}

async function phase(url, rate, seconds, gw) {
  let peak = rssMb(gw.proc.pid);
  const limits = [];
  const sampler = setInterval(async () => {
    peak = Math.max(peak, rssMb(gw.proc.pid));
    gw.proc.send('limit');
    const { limit } = await gw.next();
    if (limit !== null) limits.push(limit);
  }, 250);
  const cpu = cpuMicros([gw.proc.pid]);
  const [main, other] = await Promise.all([
    arrivals(`${url}/slow`, { rate, seconds }),
    arrivals(`${url}/healthz`, { rate: OTHER_RATE, seconds }),
  ]);
  clearInterval(sampler);
  const cpuPerRequest = (cpuMicros([gw.proc.pid]) - cpu) / (main.offered + other.offered);
  await sleep(300); // the last limit sample's answer
  return {
    rate,
    seconds,
    main,
    other,
    peak,
    cpuPerRequest,
    limit: limits.length ? median(limits) : null,
  };
}

async function runMode(mode, ports, seconds) {
  const gw = child('gateway', [JSON.stringify(ports), JSON.stringify(mode)], ['--expose-gc']);
  const { url } = await gw.next();
  const rows = [];
  try {
    await phase(url, CAPACITY / 4, 2, gw); // warm-up: JIT, pools, the minimum RTT
    for (const [label, rate, secs] of [
      ['unloaded', CAPACITY / 4, Math.min(seconds, 5)],
      ['2x', CAPACITY * 2, seconds],
      ['4x', CAPACITY * 4, seconds],
    ]) {
      const before = await settle(upstreamChild, gw);
      const result = await phase(url, rate, secs, gw);
      const after = await settle(upstreamChild, gw);
      rows.push({ label, before, after, ...result });
    }
  } finally {
    gw.proc.kill('SIGTERM');
  }
  return rows;
}

const pct = (part, whole) => `${((100 * part) / whole).toFixed(1)}%`;
const ms = (v) => (Number.isFinite(v) ? v.toFixed(v < 10 ? 1 : 0) : '-');

function print(mode, rows) {
  const unloadedP99 = percentile(rows[0].main.ok, 99);
  console.log(
    `\n${mode.name}: ${JSON.stringify({ shedding: mode.shedding, concurrency: mode.concurrency ?? 'adaptive (default)' })}`,
  );
  console.log(
    '| phase | offered/s | 2xx | refused at once (503 + Retry-After) | failed or unanswered | 2xx/s (of 400) | 2xx p50 / p99 ms | p99 vs unloaded | p99 after the 1st s | refused p99 ms | other route 2xx / p99 ms | gateway RSS MB before / peak / after | gateway CPU µs / request | sender lag p99 ms | limit (median) |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const m = r.main;
    if (m.failed > 0) console.error(`${r.label}: failures by status`, m.failures);
    const o = r.other;
    const p99 = percentile(m.ok, 99);
    console.log(
      `| ${r.label} | ${r.rate} | ${pct(m.ok.length, m.offered)} | ${pct(m.refused.length, m.offered)} | ${pct(m.failed + m.unfinished, m.offered)} | ${(m.okInPhase / r.seconds).toFixed(0)} (${pct(m.okInPhase / r.seconds, CAPACITY)}) | ${ms(percentile(m.ok, 50))} / ${ms(p99)} | ${(p99 / unloadedP99).toFixed(2)}x | ${ms(percentile(m.settled, 99))} | ${ms(percentile(m.refused, 99))} | ${pct(o.ok.length, o.offered)} / ${ms(percentile(o.ok, 99))} | ${r.before.toFixed(0)} / ${r.peak.toFixed(0)} / ${r.after.toFixed(0)} | ${r.cpuPerRequest.toFixed(0)} | ${ms(percentile(m.lag, 99))} | ${r.limit ?? '-'} |`,
    );
  }
}

let upstreamChild;

async function main() {
  const seconds = Number(process.argv[2]) || 15;
  console.log(`gateway overload: ${machine()}, load average ${os.loadavg()[0].toFixed(1)}`);
  console.log(
    `upstream ${SERVICE_MS} ms per request, ${UPSTREAM_CONCURRENCY} at a time (${CAPACITY}/s); other route ${OTHER_RATE}/s to a ${OTHER_SERVICE_MS} ms upstream; ${seconds} s per phase, open loop`,
  );
  upstreamChild = child('upstream', []);
  const { ports } = await upstreamChild.next();
  try {
    for (const mode of [PROTECTED, UNPROTECTED]) print(mode, await runMode(mode, ports, seconds));
  } finally {
    upstreamChild.proc.kill('SIGTERM');
  }
}

const [role, ...args] = process.argv.slice(2);
if (role === 'upstream') {
  process.once('disconnect', () => process.exit(0));
  await upstreams();
} else if (role === 'gateway') {
  process.once('disconnect', () => process.exit(0));
  await gateway(JSON.parse(args[0]), JSON.parse(args[1]));
} else {
  await main();
}
