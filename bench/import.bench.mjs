// What importing each subpath costs a process that uses only that pattern, beside the peer a
// user would import instead: wall and CPU milliseconds of `await import(x)` in a fresh process
// (median of interleaved rounds) and how many files it loads.
// Needs: `npm run build` (the bench installs sluice from ..); the peers from bench/package.json.
import { execFileSync } from 'node:child_process';
import { machine, median } from './lib.mjs';

const probe = `
import { createRequire } from 'node:module';
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await import(process.argv[1]);
const wall = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const cjs = Object.keys(createRequire(import.meta.url).cache).length;
console.log(JSON.stringify({ wall, cpu: (cpu.user + cpu.system) / 1000, cjs }));
`;

const rows = [
  ['sluice/core', undefined],
  ['sluice/resilience', 'cockatiel'],
  ['sluice/flow', undefined],
  ['sluice/observe', undefined],
  ['sluice/messaging', 'bullmq'],
  ['sluice/gateway', 'fastify'],
  ['sluice/runtime', undefined],
];
const rounds = Number(process.argv[2] ?? 7);

function once(specifier) {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', probe, specifier], {
    cwd: new URL('.', import.meta.url),
    encoding: 'utf8',
  });
  return JSON.parse(out);
}

console.log(`import cost, ${machine()}, median of ${rounds} fresh processes`);
console.log(
  '| import | wall ms | CPU ms | CommonJS files | peer | peer wall ms | peer CPU ms | sluice ÷ peer (CPU) |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const [ours, peer] of rows) {
  const a = [];
  const b = [];
  for (let i = 0; i < rounds; i++) {
    a.push(once(ours));
    if (peer) b.push(once(peer));
  }
  const m = (list, key) => median(list.map((r) => r[key]));
  const peerCells = peer
    ? [
        peer,
        m(b, 'wall').toFixed(1),
        m(b, 'cpu').toFixed(1),
        `${(m(a, 'cpu') / m(b, 'cpu')).toFixed(2)}x`,
      ]
    : ['—', '', '', ''];
  console.log(
    `| ${ours} | ${m(a, 'wall').toFixed(1)} | ${m(a, 'cpu').toFixed(1)} | ${m(a, 'cjs')} | ${peerCells.join(' | ')} |`,
  );
}
