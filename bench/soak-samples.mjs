// What the soak benchmark reads while the storefront runs: the memory of the supervisor and
// of each process it started (from /proc), the supervisor's live heap (from the memory probe
// preloaded into it), the telemetry store's counters (from its Prometheus page), the orders
// not yet settled (from the orders service's database), and the least-squares slope of a
// series.
import { readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { processTree } from './proc.mjs';

/** A field of /proc/<pid>/status in MB (VmRSS, RssAnon), NaN when the process is gone. */
export function statusMb(pid, field) {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(
      new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'),
    );
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** What a process the supervisor started is: `orders`, `orders-sidecar`, or its command. */
function roleOf(pid) {
  let args;
  try {
    args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return undefined;
  }
  const service = args.indexOf('--service');
  if (args.includes('sidecar') && service > 0) return `${args[service + 1]}-sidecar`;
  const main = args.find((a) => /(^|\/)[a-z-]+\/main\.[jt]s$/.test(a));
  return main ? main.split('/').at(-2) : args[0].split('/').at(-1);
}

/** RssAnon in MB of every process under the supervisor, by role (several of a role summed). */
export function childrenAnonMb(supervisorPid) {
  const found = {};
  for (const pid of processTree(supervisorPid).slice(1)) {
    const role = roleOf(pid);
    const rss = statusMb(pid, 'RssAnon');
    if (role === undefined || Number.isNaN(rss)) continue;
    found[role] = (found[role] ?? 0) + rss;
  }
  return found;
}

/** Values of a metric family from a Prometheus text page, by their label string. */
export function family(text, name) {
  const found = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = line.match(/^([a-z_:]+)(\{[^}]*\})?\s+(\S+)/i);
    if (m && m[1] === name) found[m[2] ?? ''] = Number(m[3]);
  }
  return found;
}

export const labelOf = (labels, name) => labels.match(new RegExp(`${name}="([^"]*)"`))?.[1];

export async function page(url) {
  return fetch(url, { signal: AbortSignal.timeout(5000) })
    .then((r) => r.text())
    .catch(() => '');
}

/**
 * Orders the storefront has taken and not finished (status still `pending` in the orders
 * service's own database): the whole pipeline's backlog, outbox, queue, payment and status
 * update included. Read on a read-only connection; WAL lets it read beside the writer.
 */
export function unsettledOrders(ordersDb) {
  const db = new Database(ordersDb, { readonly: true, fileMustExist: true });
  const count = db.prepare("SELECT COUNT(*) AS n FROM orders WHERE status = 'pending'");
  return { count: () => count.get().n, close: () => db.close() };
}

/** The supervisor's process.memoryUsage() after a full GC, in MB; NaN fields when unreachable. */
export async function liveHeapMb(probePort) {
  const usage = await fetch(`http://127.0.0.1:${probePort}/memory`, {
    signal: AbortSignal.timeout(10_000),
  })
    .then((r) => r.json())
    .catch(() => ({}));
  return {
    heapUsedMb: (usage.heapUsed ?? Number.NaN) / 2 ** 20,
    heapTotalMb: (usage.heapTotal ?? Number.NaN) / 2 ** 20,
    externalMb: (usage.external ?? Number.NaN) / 2 ** 20,
  };
}

/** Least-squares slope of `y` against `x` over points, per unit of x. */
export function slope(points, x, y) {
  const usable = points.filter((p) => Number.isFinite(x(p)) && Number.isFinite(y(p)));
  const n = usable.length;
  if (n < 2) return Number.NaN;
  const mx = usable.reduce((a, p) => a + x(p), 0) / n;
  const my = usable.reduce((a, p) => a + y(p), 0) / n;
  let num = 0;
  let den = 0;
  for (const p of usable) {
    num += (x(p) - mx) * (y(p) - my);
    den += (x(p) - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}
