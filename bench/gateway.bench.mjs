// Reverse proxies side by side: the same tiny upstream, the same wrk load, one proxy at a
// time, each proxy a single process with one worker. The figure that survives a noisy
// machine is the proxy's CPU time per request: user + sys of the proxy process (read from
// /proc) over the requests wrk completed. Usage: node gateway.bench.mjs [seconds] [rounds]
import { spawn, spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machine, median } from './lib.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const role = process.argv[2];
const CLK_TCK = 100;
const CONNECTIONS = 32;
const SECONDS = Number(process.argv[2] && !role?.startsWith('--') ? process.argv[2] : 3) || 3;
const ROUNDS = Number(process.argv[3] ?? 3) || 3;
const OURS = 'sluice, no filters';

// ---------------------------------------------------------------- child roles
process.once('SIGTERM', () => process.exit(0));
if (role === '--upstream') {
  const body = Buffer.from('{"ok":true,"items":[1,2,3]}');
  createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  }).listen(Number(process.argv[3]), '127.0.0.1', () => process.send?.('ready'));
} else if (role === '--bare') {
  const { Pool } = await import('undici');
  const pool = new Pool(process.argv[4], { connections: 64, pipelining: 1 });
  createServer(async (req, res) => {
    try {
      const up = await pool.request({
        method: req.method,
        path: req.url,
        headers: { ...req.headers, connection: undefined, host: undefined },
        body: req.method === 'GET' || req.method === 'HEAD' ? null : req,
      });
      res.writeHead(up.statusCode, up.headers);
      up.body.pipe(res);
    } catch {
      res.writeHead(502).end();
    }
  }).listen(Number(process.argv[3]), '127.0.0.1', () => process.send?.('ready'));
} else if (role === '--fastify') {
  const { default: Fastify } = await import('fastify');
  const { default: proxy } = await import('@fastify/http-proxy');
  const app = Fastify({ logger: false });
  await app.register(proxy, { upstream: process.argv[4], prefix: '/' });
  await app.listen({ port: Number(process.argv[3]), host: '127.0.0.1' });
  process.send?.('ready');
} else if (role === '--sluice') {
  const [, , , port, upstream, mode, source] = process.argv;
  const gateway = await import(source);
  const on = (feature) => mode === 'full' || mode === feature;
  if (on('tracing')) {
    const observe = await import(source.replace(/gateway\/index\.(ts|js)$/, 'observe/index.$1'));
    observe.setupTracing({
      serviceName: 'bench-gateway',
      sampleRatio: 0.1,
      exporter: { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} },
    });
  }
  await gateway.Gateway.start({
    listen: `127.0.0.1:${port}`,
    metrics: on('metrics'),
    tracing: on('tracing'),
    accessLog: false,
    shedding: false,
    auth: on('jwt') ? { jwt: { algorithms: ['HS256'], secret: SECRET(), issuer: 'bench' } } : {},
    routes: [
      {
        path: '/*',
        upstream,
        ...(on('jwt') ? { auth: 'jwt' } : {}),
        ...(on('rateLimit') ? { rateLimit: { by: 'subject', limit: '1000000/s' } } : {}),
        filters: ['tracing', 'auth', 'rateLimit'],
      },
    ],
  });
  process.send?.('ready');
} else {
  await main();
}

function SECRET() {
  return 'bench-secret-bench-secret-bench-secret';
}

function hs256(payload) {
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(payload)}`;
  return `${head}.${createHmac('sha256', SECRET()).update(head).digest('base64url')}`;
}

// ---------------------------------------------------------------- parent
function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function waitForPort(port, timeoutMs = 10_000) {
  const until = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        if (Date.now() > until) reject(new Error(`nothing listens on ${port}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

function cpuTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

function node(args, extraExec = []) {
  const child = spawn(process.execPath, [...extraExec, fileURLToPath(import.meta.url), ...args], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    cwd: here,
  });
  return { child, pid: () => child.pid, stop: () => child.kill('SIGKILL') };
}

function wrk(url, seconds, headers = {}) {
  const args = ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency'];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  const out = spawnSync('wrk', [...args, url], { encoding: 'utf8' }).stdout;
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? '0';
  const pct = (p) => {
    const m = new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
    if (!m) return Number.NaN;
    return Number(m[1]) * { us: 0.001, ms: 1, s: 1000 }[m[2]];
  };
  return { requests, rps, p50: pct(50), p99: pct(99), errors: Number(errors) };
}

/** Warms up, then measures the proxy's CPU over one wrk run. */
function measure(url, pid, headers) {
  wrk(url, 1, headers);
  const before = pid ? cpuTicks(pid) : 0;
  const r = wrk(url, SECONDS, headers);
  const ticks = pid ? cpuTicks(pid) - before : Number.NaN;
  return { ...r, cpuUs: pid ? ((ticks / CLK_TCK) * 1e6) / r.requests : Number.NaN };
}

function sluiceSource() {
  // SLUICE_GATEWAY_MODULE points at a built gateway/index.js (e.g. a scratch build).
  const override = process.env.SLUICE_GATEWAY_MODULE;
  if (override) return { source: override, exec: [] };
  const require = createRequire(join(here, 'package.json'));
  return { source: require.resolve('sluice/gateway'), exec: [] };
}

async function startNode(args, exec = []) {
  const proc = node(args, exec);
  await new Promise((resolve, reject) => {
    proc.child.once('message', resolve);
    proc.child.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}`)));
  });
  return proc;
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
  const upstreamPort = await freePort();
  const upstreamUrl = `http://127.0.0.1:${upstreamPort}`;
  const upstream = await startNode(['--upstream', String(upstreamPort)]);
  const token = hs256({
    sub: 'bench-user',
    iss: 'bench',
    exp: Math.floor(Date.now() / 1000) + 3600,
  });

  const results = new Map();
  const record = (name, r) => {
    if (!results.has(name)) results.set(name, []);
    results.get(name).push(r);
  };
  const run = async (name, start, headers = {}) => {
    const port = await freePort();
    let proc;
    try {
      proc = await start(port);
      await waitForPort(port);
      record(name, measure(`http://127.0.0.1:${port}/api/items?x=1`, proc?.pid(), headers));
    } catch (error) {
      record(name, { error: error.message });
    } finally {
      proc?.stop();
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  const nginx = async (port) => {
    const conf = join(dir, 'nginx.conf');
    writeFileSync(
      conf,
      `daemon off; master_process off; worker_processes 1; error_log ${dir}/nginx.err; pid ${dir}/nginx.pid;
events { worker_connections 1024; }
http { access_log off;
  upstream up { server 127.0.0.1:${upstreamPort}; keepalive 64; }
  server { listen 127.0.0.1:${port};
    location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; } } }
`,
    );
    const child = spawn('nginx', ['-c', conf, '-p', dir], { stdio: 'ignore' });
    return { pid: () => child.pid, stop: () => child.kill('SIGKILL') };
  };
  const haproxy = async (port) => {
    const conf = join(dir, 'haproxy.cfg');
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
    const child = spawn('haproxy', ['-db', '-f', conf], { stdio: 'ignore' });
    return { pid: () => child.pid, stop: () => child.kill('SIGKILL') };
  };
  const { source, exec } = sluiceSource();
  const sluice = (mode) => (port) =>
    startNode(['--sluice', String(port), upstreamUrl, mode, source], exec);
  const bearer = { authorization: `Bearer ${token}` };
  const cases = [
    ['nginx', nginx],
    ['HAProxy', haproxy],
    [
      'fastify + @fastify/http-proxy',
      (port) => startNode(['--fastify', String(port), upstreamUrl]),
    ],
    ['bare node:http + undici', (port) => startNode(['--bare', String(port), upstreamUrl])],
    [OURS, sluice('plain')],
    ['sluice + JWT (HS256)', sluice('jwt'), bearer],
    ['sluice + rate limit', sluice('rateLimit')],
    ['sluice + metrics', sluice('metrics')],
    ['sluice + tracing 10%', sluice('tracing')],
    ['sluice, JWT + rate limit + metrics + tracing 10%', sluice('full'), bearer],
  ];
  for (let round = 0; round < ROUNDS; round++) {
    record('no proxy (upstream direct)', measure(`${upstreamUrl}/api/items`, null));
    for (const [name, start, headers] of cases) await run(name, start, headers);
  }
  upstream.stop();
  rmSync(dir, { recursive: true, force: true });
  print(
    [...results].map(([name, runs]) => {
      const ok = runs.filter((r) => !r.error);
      if (ok.length === 0) return { name, error: runs[0].error };
      const med = (f) => median(ok.map(f));
      return {
        name,
        rps: med((r) => r.rps),
        p50: med((r) => r.p50),
        p99: med((r) => r.p99),
        cpuUs: med((r) => r.cpuUs),
        errors: Math.max(...ok.map((r) => r.errors)),
      };
    }),
  );
}

function print(rows) {
  console.log('\n## Reverse proxy: CPU per proxied request (one worker each)');
  console.log(machine());
  console.log(
    `wrk -t1 -c${CONNECTIONS} -d${SECONDS}s --latency after a 1 s warm-up; median of ${ROUNDS} interleaved rounds\n`,
  );
  const ours = rows.find((r) => r.name === OURS);
  const header = ['proxy', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'vs sluice'];
  const lines = [header];
  for (const r of rows) {
    if (r.error) {
      lines.push([r.name, 'failed', r.error, '', '', '']);
      continue;
    }
    const ratio =
      ours && r !== ours && Number.isFinite(r.cpuUs) ? `${(r.cpuUs / ours.cpuUs).toFixed(2)}x` : '';
    lines.push([
      r.name + (r.errors ? ` (${r.errors} non-2xx)` : ''),
      Math.round(r.rps).toLocaleString('en-US'),
      r.p50.toFixed(2),
      r.p99.toFixed(2),
      Number.isFinite(r.cpuUs) ? r.cpuUs.toFixed(1) : '-',
      ratio,
    ]);
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => String(l[i]).length)));
  for (const l of lines) console.log(l.map((v, i) => String(v).padEnd(widths[i])).join('  '));
  console.log(
    '\n"vs sluice" > 1 means the peer spends more CPU per request than Sluice with no filters.',
  );
}
