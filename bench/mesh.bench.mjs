// Two mesh hops with mutual TLS (client -> sidecar -> sidecar -> server), side by side with
// the same path and no mesh, a bare node:https + undici mTLS proxy pair, and two HAProxy
// hops doing mTLS (when `haproxy` is installed: apt-get install haproxy). Each hop is its
// own process. Open-loop load at a fixed rate (latency from each request's due time), CPU
// per request of each hop from /proc, RSS of each hop idle and under load.
// Needs: openssl and a built Sluice (npm run build). Linux (/proc).
// Usage: node mesh.bench.mjs [rate, default 1000] [seconds, default 5] [rounds, default 3]
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openLoop } from './http-load.mjs';
import { machine, median } from './lib.mjs';
import { freePort, waitForPort } from './ports.mjs';
import { cpuMicros } from './proc.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const RATE = Number(process.argv[2]) || 1000;
const SECONDS = Number(process.argv[3]) || 5;
const ROUNDS = Number(process.argv[4]) || 3;
const CONNECTIONS = 32;
const PATH = '/api/items?x=1';

const has = (command) => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
const openssl = (dir, args) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });

/** A root, an issuer and one SVID per service, as the mesh's CA makes them. */
function certificates(dir, services) {
  openssl(dir, [
    'genpkey',
    '-algorithm',
    'EC',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-out',
    'root.key',
  ]);
  openssl(dir, [
    'req',
    '-x509',
    '-key',
    'root.key',
    '-days',
    '2',
    '-subj',
    '/CN=bench root',
    '-addext',
    'basicConstraints=critical,CA:true',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-out',
    'root.pem',
  ]);
  openssl(dir, [
    'genpkey',
    '-algorithm',
    'EC',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-out',
    'issuer.key',
  ]);
  openssl(dir, [
    'req',
    '-new',
    '-key',
    'issuer.key',
    '-subj',
    '/CN=bench issuer',
    '-out',
    'issuer.csr',
  ]);
  writeFileSync(
    join(dir, 'issuer.ext'),
    'basicConstraints=critical,CA:true,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n',
  );
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    'issuer.csr',
    '-CA',
    'root.pem',
    '-CAkey',
    'root.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    'issuer.ext',
    '-out',
    'issuer.pem',
  ]);
  for (const service of services) {
    openssl(dir, [
      'genpkey',
      '-algorithm',
      'EC',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-out',
      `${service}.key`,
    ]);
    openssl(dir, [
      'req',
      '-new',
      '-key',
      `${service}.key`,
      '-subj',
      '/O=bench',
      '-out',
      `${service}.csr`,
    ]);
    writeFileSync(
      join(dir, `${service}.ext`),
      'basicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n' +
        `subjectAltName=critical,URI:spiffe://bench.test/svc/${service}\n`,
    );
    openssl(dir, [
      'x509',
      '-req',
      '-in',
      `${service}.csr`,
      '-CA',
      'issuer.pem',
      '-CAkey',
      'issuer.key',
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      `${service}.ext`,
      '-out',
      `${service}.pem`,
    ]);
    const chain =
      readFileSync(join(dir, `${service}.pem`), 'utf8') +
      readFileSync(join(dir, 'issuer.pem'), 'utf8');
    writeFileSync(join(dir, `${service}.chain.pem`), chain);
    // HAProxy wants the chain and the key in one file.
    writeFileSync(
      join(dir, `${service}.haproxy.pem`),
      chain + readFileSync(join(dir, `${service}.key`), 'utf8'),
    );
  }
}

async function start(command, args, port) {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit'], cwd: here });
  child.once('exit', (code, signal) => {
    if (!child.stopping) console.error(`${command} exited (${code ?? signal})`);
  });
  await waitForPort(port);
  return {
    pid: child.pid,
    stop: () => {
      child.stopping = true;
      child.kill('SIGKILL');
    },
  };
}

function rssMb(pid) {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return Number(kb) / 1024;
  } catch {
    return Number.NaN;
  }
}

/** The app at the end of every path: a small JSON answer. */
function appServer(port) {
  const body = JSON.stringify({ items: [1, 2, 3], ok: true });
  const server = createServer((req, res) => {
    req.resume();
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

function haproxyConfig(dir, name, frontend, backend) {
  const file = join(dir, `${name}.cfg`);
  writeFileSync(
    file,
    [
      'global',
      '  nbthread 1',
      '  maxconn 4096',
      'defaults',
      '  mode http',
      '  timeout connect 5s',
      '  timeout client 30s',
      '  timeout server 30s',
      '  option http-keep-alive',
      '  http-reuse always',
      'frontend f',
      `  bind ${frontend}`,
      '  default_backend b',
      'backend b',
      `  server s ${backend}`,
      '',
    ].join('\n'),
  );
  return file;
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-mesh-bench-'));
  const stops = [];
  try {
    certificates(dir, ['client', 'server']);
    const appPort = await freePort();
    const app = await appServer(appPort);
    stops.push(() => app.close());

    const paths = [
      { name: 'no mesh (client -> server)', url: `http://127.0.0.1:${appPort}${PATH}`, hops: [] },
    ];
    const hop = (o) => [join(here, 'mesh-hop.mjs'), JSON.stringify({ dir, ...o })];

    // Sluice: sidecar "client" (outbound) -> sidecar "server" (inbound) -> app.
    {
      const inPort = await freePort();
      const outPort = await freePort();
      const inbound = await start(
        process.execPath,
        hop({ kind: 'sidecar', service: 'server', appPort, listenPort: inPort }),
        inPort,
      );
      const endpoints = [
        {
          service: 'server',
          instance: 'server-0',
          address: `127.0.0.1:${inPort}`,
          labels: {},
          healthy: true,
        },
      ];
      const outbound = await start(
        process.execPath,
        hop({
          kind: 'sidecar',
          service: 'client',
          listenPort: await freePort(),
          upstreams: [{ name: 'server', port: outPort }],
          endpoints,
        }),
        outPort,
      );
      stops.push(inbound.stop, outbound.stop);
      paths.push({
        name: 'sluice sidecars',
        url: `http://127.0.0.1:${outPort}${PATH}`,
        hops: [outbound, inbound],
      });
    }
    // Bare node:https + undici mTLS proxy pair.
    {
      const inPort = await freePort();
      const outPort = await freePort();
      const inbound = await start(
        process.execPath,
        hop({ kind: 'bare-in', service: 'server', appPort, listenPort: inPort }),
        inPort,
      );
      const outbound = await start(
        process.execPath,
        hop({ kind: 'bare-out', service: 'client', peerPort: inPort, listenPort: outPort }),
        outPort,
      );
      stops.push(inbound.stop, outbound.stop);
      paths.push({
        name: 'bare node mTLS pair',
        url: `http://127.0.0.1:${outPort}${PATH}`,
        hops: [outbound, inbound],
      });
    }
    if (has('haproxy')) {
      const inPort = await freePort();
      const outPort = await freePort();
      const ca = join(dir, 'root.pem');
      const inCfg = haproxyConfig(
        dir,
        'in',
        `127.0.0.1:${inPort} ssl crt ${join(dir, 'server.haproxy.pem')} ca-file ${ca} verify required alpn http/1.1`,
        `127.0.0.1:${appPort}`,
      );
      const outCfg = haproxyConfig(
        dir,
        'out',
        `127.0.0.1:${outPort}`,
        `127.0.0.1:${inPort} ssl crt ${join(dir, 'client.haproxy.pem')} ca-file ${ca} verify required alpn http/1.1`,
      );
      const inbound = await start('haproxy', ['-f', inCfg, '-db'], inPort);
      const outbound = await start('haproxy', ['-f', outCfg, '-db'], outPort);
      stops.push(inbound.stop, outbound.stop);
      paths.push({
        name: 'haproxy pair',
        url: `http://127.0.0.1:${outPort}${PATH}`,
        hops: [outbound, inbound],
      });
    } else {
      console.log('(haproxy not installed: apt-get install haproxy adds the HAProxy pair)');
    }

    const results = new Map(
      paths.map((p) => [p.name, { p50: [], p99: [], cpu: [], idle: [], load: [], errors: 0 }]),
    );
    for (const path of paths) {
      for (const h of path.hops) results.get(path.name).idle.push(rssMb(h.pid));
      await openLoop(path.url, { rate: RATE, seconds: 1, connections: CONNECTIONS });
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const path of paths) {
        const r = results.get(path.name);
        const cpu0 = path.hops.map((h) => cpuMicros([h.pid]));
        let peak = path.hops.map(() => 0);
        const sampler = setInterval(() => {
          peak = path.hops.map((h, i) => Math.max(peak[i], rssMb(h.pid)));
        }, 250);
        const run = await openLoop(path.url, {
          rate: RATE,
          seconds: SECONDS,
          connections: CONNECTIONS,
        });
        clearInterval(sampler);
        if (run.error || run.non2xx) r.errors += run.non2xx + (run.error ? 1 : 0);
        r.p50.push(run.p50);
        r.p99.push(run.p99);
        if (path.hops.length > 0) {
          const perHop = path.hops.map((h, i) => (cpuMicros([h.pid]) - cpu0[i]) / run.requests);
          r.cpu.push(perHop.reduce((a, b) => a + b, 0) / perHop.length);
          r.load.push(Math.max(...peak));
        }
      }
    }

    const base = results.get(paths[0].name);
    const bare = results.get('bare node mTLS pair');
    const med = (a) => (a.length ? median(a) : Number.NaN);
    console.log(
      `\n## Two mesh hops with mTLS at ${RATE} req/s, open loop, ${CONNECTIONS} connections`,
    );
    console.log(`${machine()}; ${ROUNDS} rounds of ${SECONDS} s, medians\n`);
    const rows = [
      [
        'path',
        'p50 ms',
        'p99 ms',
        '+p50 ms',
        '+p99 ms',
        'CPU µs/req/hop',
        'vs bare',
        'RSS idle MB',
        'RSS load MB',
        'errors',
      ],
    ];
    for (const path of paths) {
      const r = results.get(path.name);
      const cpu = med(r.cpu);
      rows.push([
        path.name,
        med(r.p50).toFixed(2),
        med(r.p99).toFixed(2),
        path.hops.length ? (med(r.p50) - med(base.p50)).toFixed(2) : '',
        path.hops.length ? (med(r.p99) - med(base.p99)).toFixed(2) : '',
        path.hops.length ? cpu.toFixed(1) : '',
        path.hops.length && bare ? `${(cpu / med(bare.cpu)).toFixed(2)}x` : '',
        path.hops.length ? Math.max(...r.idle).toFixed(1) : '',
        path.hops.length ? med(r.load).toFixed(1) : '',
        String(r.errors),
      ]);
    }
    const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => String(row[i]).length)));
    for (const row of rows)
      console.log(row.map((cell, i) => String(cell).padEnd(widths[i])).join('  '));
    console.log(
      '\nGoals: two hops add <= +1 ms p50 and <= +3 ms p99; CPU per hop <= 1.3x the bare pair; RSS <= 50 MB per sidecar.',
    );
    console.log(
      'HAProxy checks the peer chain against the mesh root but not its SPIFFE ID; the sidecars check both.',
    );
  } finally {
    for (const stop of stops.reverse()) await stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
