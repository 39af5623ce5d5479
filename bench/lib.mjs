// Shared measuring helpers for the benchmarks. Figures are CPU time per operation
// (user + sys of this process over the work done) and medians of several rounds, which
// survive a noisy shared machine better than wall-clock rates.
import os from 'node:os';

export function machine() {
  const cpu = os.cpus()[0]?.model ?? 'unknown cpu';
  return `node ${process.version}, ${os.cpus().length} x ${cpu}, ${os.platform()} ${os.release()}`;
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function percentile(sortedValues, p) {
  if (sortedValues.length === 0) return Number.NaN;
  const index = Math.min(sortedValues.length - 1, Math.ceil((p / 100) * sortedValues.length) - 1);
  return sortedValues[Math.max(0, index)];
}

function cpuMicros() {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/**
 * Runs `op` (async or not) `iterations` times per round, `rounds` times, after a warm-up
 * round; returns the median CPU ns per op and the median wall-clock ops/s.
 */
export async function measure(op, { iterations = 200_000, rounds = 5, batch = 1 } = {}) {
  const run = async () => {
    for (let i = 0; i < iterations; i += batch) await op();
  };
  await run();
  const cpuNs = [];
  const opsPerSec = [];
  for (let r = 0; r < rounds; r++) {
    const cpu0 = cpuMicros();
    const t0 = process.hrtime.bigint();
    await run();
    const wallNs = Number(process.hrtime.bigint() - t0);
    cpuNs.push(((cpuMicros() - cpu0) * 1000) / iterations);
    opsPerSec.push((iterations * 1e9) / wallNs);
  }
  return { cpuNsPerOp: median(cpuNs), opsPerSec: median(opsPerSec) };
}

/** Heap growth in bytes across `calls` calls of `op`, after forcing GC when exposed. */
export async function heapGrowth(op, calls = 1_000_000) {
  const gc = globalThis.gc ?? (() => {});
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < calls; i++) await op();
  gc();
  return process.memoryUsage().heapUsed - before;
}

/**
 * Prints rows of { case, impl, ...figures } grouped by case, with each peer's figure as a
 * ratio to ours (`x` > 1 means the peer costs more than Sluice).
 */
export function printTable(title, rows, { metric = 'cpuNsPerOp', unit = 'ns/op' } = {}) {
  console.log(`\n## ${title}`);
  console.log(`${machine()}\n`);
  const cases = [...new Set(rows.map((r) => r.case))];
  const header = ['case', 'impl', unit, 'ops/s', 'vs sluice'];
  const lines = [header];
  for (const c of cases) {
    const group = rows.filter((r) => r.case === c);
    const ours = group.find((r) => r.impl === 'sluice');
    for (const r of group) {
      const ratio = ours && r !== ours ? `${(r[metric] / ours[metric]).toFixed(2)}x` : '';
      lines.push([
        c,
        r.impl,
        r[metric].toFixed(1),
        r.opsPerSec ? Math.round(r.opsPerSec).toLocaleString('en-US') : '',
        ratio,
      ]);
    }
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => String(l[i]).length)));
  for (const l of lines) console.log(l.map((v, i) => String(v).padEnd(widths[i])).join('  '));
}
