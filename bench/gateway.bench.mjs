// Reverse proxies side by side: the same tiny upstream, the same wrk load, one proxy at a
// time, each a single process with one worker. The figure that survives a noisy machine
// is the proxy's CPU time per request: user + sys of the proxy process (and any process it
// forked), read from /proc, over the requests wrk completed. Then the latency a proxy adds
// at half of its peak rate (open loop), and the cost of each filter in process.
// Usage: node gateway.bench.mjs [seconds per run, default 2] [rounds, default 3]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { filterCosts } from './gateway-filters.mjs';
import { BENCH_CONCURRENCY, benchToken } from './gateway-servers.mjs';
import { openLoop, wrk } from './http-load.mjs';
import { machine, median } from './lib.mjs';
import { freePort, waitForPort } from './ports.mjs';
import {
  commandOf,
  cpuMicros,
  machineBusyMicros,
  processTree,
  reapedChildrenMicros,
} from './proc.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const SECONDS = Number(process.argv[2]) || 2;
const ROUNDS = Number(process.argv[3]) || 3;
const WARMUP_SECONDS = 1;
const CONNECTIONS = 32;
const OURS = 'sluice, no filters';
const FULL = 'sluice, JWT + rate limit + metrics + tracing 10%';
const BARE = 'bare node:http + undici';
/** Rows whose latency at half of peak is measured, beside the upstream reached directly. */
const LATENCY_ROWS = ['nginx', BARE, OURS, FULL];
const PATH = '/api/items?x=1';

function has(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
}

/** Starts a program; resolves once its port accepts connections. */
async function startProcess(command, args, port, expect) {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], cwd: here });
  const exited = new Promise((_, reject) =>
    child.once('exit', (code) => reject(new Error(`${command} exited with ${code}`))),
  );
  await Promise.race([waitForPort(port), exited]);
  const comm = commandOf(child.pid);
  if (!comm.startsWith(expect)) throw new Error(`pid ${child.pid} is "${comm}", not ${expect}`);
  exited.catch(() => {});
  return {
    pid: child.pid,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', resolve);
        child.kill('SIGKILL');
      }),
  };
}

const server = (role, port, ...args) =>
  startProcess(
    process.execPath,
    ['gateway-servers.mjs', role, String(port), ...args],
    port,
    'node',
  );

function nginxConf(dir, port, body) {
  return `daemon off; master_process off; worker_processes 1; pid ${dir}/nginx-${port}.pid;
error_log ${dir}/nginx-${port}.err;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir};
  uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  ${body.replaceAll('PORT', String(port))} }
`;
}

function nginx(dir, body) {
  return async (port) => {
    const conf = join(dir, `nginx-${port}.conf`);
    writeFileSync(conf, nginxConf(dir, port, body));
    return startProcess('nginx', ['-c', conf, '-p', dir], port, 'nginx');
  };
}

function haproxy(dir, upstreamPort) {
  return async (port) => {
    const conf = join(dir, `haproxy-${port}.cfg`);
    writeFileSync(
      conf,
      `global
  nbthread 1
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option forwardfor
  http-reuse always
frontend fe
  bind 127.0.0.1:${port}
  default_backend be
backend be
  server s1 127.0.0.1:${upstreamPort}
`,
    );
    return startProcess('haproxy', ['-db', '-f', conf], port, 'haproxy');
  };
}

/** The built gateway the benchmark drives: `sluice/gateway`, or SLUICE_GATEWAY_MODULE. */
function sluiceSource() {
  const override = process.env.SLUICE_GATEWAY_MODULE;
  if (override) return override;
  return createRequire(join(here, 'package.json')).resolve('sluice/gateway');
}

/** A gateway config file for `sluice gateway --workers N`, access log off like the others. */
function clusterGateway(dir, source, origin) {
  const cli = fileURLToPath(new URL('../cli/main.js', `file://${source}`));
  return async (port) => {
    const file = join(dir, `gateway-${port}.yaml`);
    writeFileSync(
      file,
      `version: 1
gateway:
  listen: 127.0.0.1:${port}
  accessLog: false
  metrics: false
  tracing: false
  shedding: false
  routes:
    - path: /*
      upstream: "${origin}"
      resilience: { concurrency: { min: ${BENCH_CONCURRENCY.min} } }
`,
    );
    return startProcess(
      process.execPath,
      [cli, 'gateway', '-c', file, '--workers', '2', '--no-watch'],
      port,
      'node',
    );
  };
}

function ownMicros() {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/** Warms the proxy up, then one wrk run with the proxy's and the machine's CPU around it. */
function closedLoop(url, proc, headers) {
  wrk(url, { seconds: WARMUP_SECONDS, connections: CONNECTIONS, headers });
  const pids = proc ? processTree(proc.pid) : [];
  const others = proc?.others ?? [];
  const cpu0 = cpuMicros(pids);
  const peers0 = cpuMicros(others) + reapedChildrenMicros() + ownMicros();
  const busy0 = machineBusyMicros();
  const t0 = performance.now();
  const r = wrk(url, { seconds: SECONDS, connections: CONNECTIONS, headers });
  const wallUs = (performance.now() - t0) * 1000;
  const cpu = cpuMicros(pids) - cpu0;
  const peers = cpuMicros(others) + reapedChildrenMicros() + ownMicros() - peers0;
  // CPU of processes that are not part of the benchmark, in cores.
  const foreign = (machineBusyMicros() - busy0 - cpu - peers) / wallUs;
  return { ...r, cpuUs: proc ? cpu / r.requests : Number.NaN, foreign };
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
  const source = sluiceSource();
  const missing = ['wrk', 'nginx', 'haproxy'].filter((c) => !has(c));
  if (missing.includes('wrk')) {
    console.log('\n## Reverse proxy\nskipped: needs wrk (apt-get install -y wrk nginx haproxy)');
    return;
  }
  // The upstream should cost little, leaving the second core to the proxy under test:
  // nginx answering from memory when it is installed, node:http otherwise.
  const upstreamPort = await freePort();
  const upstreamKind = missing.includes('nginx') ? 'node:http' : 'nginx (return 200)';
  const upstream = missing.includes('nginx')
    ? await server('upstream', upstreamPort)
    : await nginx(
        dir,
        `server { listen 127.0.0.1:PORT;
    location / { default_type application/json; return 200 '{"ok":true,"items":[1,2,3]}'; } }`,
      )(upstreamPort);
  const origin = `http://127.0.0.1:${upstreamPort}`;
  const bearer = { authorization: `Bearer ${benchToken()}` };
  const sluice = (mode) => (port) => server('sluice', port, origin, mode, source);
  const unavailable = (tool) => () => Promise.reject(new Error(`${tool} is not installed`));
  const cases = [
    [
      'nginx',
      missing.includes('nginx')
        ? unavailable('nginx')
        : nginx(
            dir,
            `upstream up { server 127.0.0.1:${upstreamPort}; keepalive 64; }
  server { listen 127.0.0.1:PORT;
    location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; } }`,
          ),
    ],
    ['HAProxy', missing.includes('haproxy') ? unavailable('haproxy') : haproxy(dir, upstreamPort)],
    ['fastify + @fastify/http-proxy', (port) => server('fastify', port, origin)],
    [BARE, (port) => server('bare', port, origin)],
    [OURS, sluice('plain')],
    ['sluice + JWT (HS256)', sluice('jwt'), bearer],
    ['sluice + rate limit', sluice('rateLimit')],
    ['sluice + metrics', sluice('metrics')],
    ['sluice + tracing 10%', sluice('tracing')],
    [FULL, sluice('full'), bearer],
    ['sluice, no filters, --workers 2 (CPU: all processes)', clusterGateway(dir, source, origin)],
  ];

  // GATEWAY_BENCH_ONLY=regex runs only the matching rows (and the direct one).
  const only = process.env.GATEWAY_BENCH_ONLY ? new RegExp(process.env.GATEWAY_BENCH_ONLY) : null;
  const selected = only ? cases.filter(([name]) => only.test(name)) : cases;
  const results = new Map();
  const record = (name, r) => results.set(name, [...(results.get(name) ?? []), r]);
  const withProxy = async (start, use) => {
    const port = await freePort();
    let proc;
    try {
      proc = await start(port);
      proc.others = [upstream.pid];
      return await use(`http://127.0.0.1:${port}${PATH}`, proc);
    } finally {
      await proc?.stop();
    }
  };
  for (let round = 0; round < ROUNDS; round++) {
    record('no proxy (upstream direct)', closedLoop(`${origin}${PATH}`, null, {}));
    const runs = [];
    for (const [name, start, headers] of selected) {
      try {
        runs.push([name, await withProxy(start, (url, proc) => closedLoop(url, proc, headers))]);
      } catch (error) {
        runs.push([name, { error: error.message }]);
      }
    }
    // Each row against the bare undici proxy of the same round: a ratio that outlives the
    // machine slowing down between rounds.
    const bare = runs.find(([name]) => name === BARE)?.[1];
    for (const [name, r] of runs) record(name, { ...r, bareCpuUs: bare?.cpuUs ?? Number.NaN });
  }
  const rows = summarise(results);

  // Added latency at half of each proxy's peak: through the proxy minus the upstream direct,
  // both at that rate, latency counted from each request's scheduled send time.
  for (const name of LATENCY_ROWS) {
    const row = rows.find((r) => r.name === name);
    const [, start, headers] = cases.find(([n]) => n === name);
    if (!row || row.error) continue;
    const rate = Math.round(row.rps / 2);
    const load = { rate, seconds: SECONDS, connections: CONNECTIONS, headers };
    try {
      const through = await withProxy(start, async (url) => {
        await openLoop(url, { ...load, seconds: WARMUP_SECONDS });
        return openLoop(url, load);
      });
      const direct = await openLoop(`${origin}${PATH}`, load);
      row.open = { rate, through, direct };
    } catch (error) {
      row.open = { rate, error: error.message };
    }
  }
  upstream.stop();
  rmSync(dir, { recursive: true, force: true });

  printProxies(rows, upstreamKind);
  printLatency(rows);
  printFilters(await filterCosts(source));
}

function summarise(results) {
  return [...results].map(([name, runs]) => {
    const ok = runs.filter((r) => !r.error);
    if (ok.length === 0) return { name, error: runs[0].error };
    const med = (f) => median(ok.map(f));
    return {
      name,
      rps: med((r) => r.rps),
      p50: med((r) => r.p50),
      p99: med((r) => r.p99),
      cpuUs: med((r) => r.cpuUs),
      // Noise only ever adds CPU, so the best round is the closest to the proxy's own cost.
      cpuBest: Math.min(...ok.map((r) => r.cpuUs)),
      vsBare: med((r) => r.cpuUs / r.bareCpuUs),
      foreign: med((r) => r.foreign),
      non2xx: Math.max(...ok.map((r) => r.non2xx)),
      socketErrors: Math.max(...ok.map((r) => r.socketErrors)),
    };
  });
}

function table(header, lines) {
  const all = [header, ...lines];
  const widths = header.map((_, i) => Math.max(...all.map((l) => String(l[i]).length)));
  for (const l of all) console.log(l.map((v, i) => String(v).padEnd(widths[i])).join('  '));
}

const fixed = (v, digits) => (Number.isFinite(v) ? v.toFixed(digits) : '-');

function printProxies(rows, upstreamKind) {
  console.log('\n## Reverse proxy: CPU per proxied request (one worker each)');
  console.log(machine());
  console.log(
    `upstream: ${upstreamKind}; wrk -t1 -c${CONNECTIONS} -d${SECONDS}s --latency after a ${WARMUP_SECONDS} s warm-up; ` +
      `median of ${ROUNDS} interleaved rounds\n`,
  );
  const ours = rows.find((r) => r.name === OURS);
  const ratio = (r) =>
    ours?.cpuUs && r !== ours && Number.isFinite(r.cpuUs)
      ? `${fixed(r.cpuUs / ours.cpuUs, 2)}x`
      : '';
  const lines = rows.map((r) => {
    if (r.error) return [r.name, 'failed', r.error, '', '', '', '', '', ''];
    const problems = [
      r.non2xx ? `${r.non2xx} non-2xx` : '',
      r.socketErrors ? `${r.socketErrors} socket errors` : '',
    ].filter(Boolean);
    return [
      r.name + (problems.length ? ` (${problems.join(', ')})` : ''),
      Math.round(r.rps).toLocaleString('en-US'),
      fixed(r.p50, 2),
      fixed(r.p99, 2),
      fixed(r.cpuUs, 1),
      fixed(r.cpuBest, 1),
      ratio(r),
      Number.isFinite(r.vsBare) ? `${fixed(r.vsBare, 2)}x` : '',
      fixed(r.foreign, 2),
    ];
  });
  table(
    ['proxy', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'best', 'vs sluice', 'vs bare', 'others'],
    lines,
  );
  console.log(
    '\nCPU µs/req is the median of the rounds, "best" the lowest round.' +
      '\n"vs sluice" > 1: the peer spends more CPU per request than Sluice with no filters.' +
      '\n"vs bare": median over rounds of CPU per request against the bare undici proxy of' +
      ' the same round.\n"others": cores busy with processes outside the benchmark meanwhile' +
      ' (noise; on 2 cores, above ~0.3 the figures inflate).',
  );
}

function printLatency(rows) {
  const measured = rows.filter((r) => r.open);
  if (measured.length === 0) return;
  console.log('\n## Added latency at half of peak rate (open loop, from scheduled send time)\n');
  const lines = measured.map(({ name, open }) =>
    open.error
      ? [name, open.rate, 'failed', open.error, '', '', '']
      : [
          name,
          open.rate.toLocaleString('en-US'),
          `${fixed(open.through.p50, 2)} / ${fixed(open.through.p99, 2)}`,
          `${fixed(open.direct.p50, 2)} / ${fixed(open.direct.p99, 2)}`,
          fixed(open.through.p50 - open.direct.p50, 2),
          fixed(open.through.p99 - open.direct.p99, 2),
          open.through.error ?? (open.through.non2xx ? `${open.through.non2xx} non-2xx` : ''),
        ],
  );
  table(
    ['proxy', 'req/s', 'p50/p99 ms', 'direct p50/p99 ms', 'added p50 ms', 'added p99 ms', ''],
    lines,
  );
}

function printFilters(rows) {
  console.log('\n## Cost of each filter, in process (CPU µs per request)\n');
  table(
    ['filter', 'µs/req'],
    rows.map(([name, us]) => [name, fixed(us, 2)]),
  );
}

await main();
