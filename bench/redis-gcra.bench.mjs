// The Redis GCRA limiter beside the in-process gcra fed the same arrival times, in one run:
// 100/s offered at 200/s through two connections for a few seconds of real time. The
// server's clock decides for Redis; the in-process one sees our own arrival times, so the
// two agree only when the script implements the same algorithm. A stalled process offers
// fewer calls; the table shows how many were offered.
// Run: npm run build (in the package), then from bench/: node redis-gcra.bench.mjs [--seconds N]
//   REDIS_URL=redis://...  the server (default redis://127.0.0.1:6379)
import { Redis } from 'ioredis';

const dist = process.env.SLUICE_DIST ?? new URL('../dist', import.meta.url).pathname;
const { gcra, redisGcra } = await import(`${dist}/flow/index.js`);

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const secondsAt = process.argv.indexOf('--seconds');
const durationMs = (secondsAt < 0 ? 2 : Number(process.argv[secondsAt + 1])) * 1_000;
const rate = 100;
const burst = 10;
const prefix = `sluice-bench:gcra:${process.pid}:`;
const redis = new Redis(url);
const options = { limit: rate, periodMs: 1_000, burst, keyPrefix: prefix, timeoutMs: 5_000 };
const limiters = [redisGcra({ ...options, redis }), redisGcra({ ...options, url })];
let arrival = 0;
const reference = gcra({ ...options, clock: { now: () => arrival } });

const start = performance.now();
let offered = 0;
let admitted = 0;
let referenceAdmitted = 0;
while (performance.now() - start < durationMs) {
  const due = Math.floor(((performance.now() - start) * 2 * rate) / 1_000);
  if (offered >= due) {
    await new Promise((resolve) => setImmediate(resolve));
    continue;
  }
  const limiter = limiters[offered % 2];
  offered++;
  arrival = performance.now();
  if (reference.take('k').allowed) referenceAdmitted++;
  if ((await limiter.take('k')).allowed) admitted++;
}
const elapsed = performance.now() - start;
const ceiling = burst + (elapsed * rate) / 1_000;
console.log(
  `redis-gcra: ${rate}/s limit, burst ${burst}, offered ${offered} in ${elapsed.toFixed(0)} ms`,
);
console.table([
  { limiter: 'redisGcra (server clock)', admitted, 'of ceiling': (admitted / ceiling).toFixed(3) },
  {
    limiter: 'gcra (same arrivals)',
    admitted: referenceAdmitted,
    'of ceiling': (referenceAdmitted / ceiling).toFixed(3),
  },
]);
console.log(`redis / in-process: ${(admitted / referenceAdmitted).toFixed(3)}`);
for (const l of limiters) await l.close();
const keys = await redis.keys(`${prefix}*`);
if (keys.length > 0) await redis.del(...keys);
await redis.quit();
