// Resilience policies beside cockatiel 3 and opossum 9: CPU ns per call, ops/s, and heap
// growth after 1e6 calls. Run: npm run build (in the package), then from bench/:
// node --expose-gc resilience.bench.mjs
import * as cockatiel from 'cockatiel';
import Opossum from 'opossum';
import { bulkhead, circuitBreaker, retry, timeout, wrap } from 'sluice/resilience';
import { heapGrowth, measure, printTable } from './lib.mjs';

const work = async () => 1;
const quick = process.argv.includes('--quick');
const heapCalls = quick ? 100_000 : 1_000_000;

const opossumBreakers = [];
function opossum(options) {
  const breaker = new Opossum(work, {
    errorThresholdPercentage: 50,
    resetTimeout: 30_000,
    ...options,
  });
  opossumBreakers.push(breaker);
  return () => breaker.fire();
}

function cockatielBreaker() {
  return cockatiel.circuitBreaker(cockatiel.handleAll, {
    halfOpenAfter: 30_000,
    breaker: new cockatiel.SamplingBreaker({ threshold: 0.5, duration: 10_000, minimumRps: 5 }),
  });
}

const cases = {
  'bare async () => 1': {
    'none (baseline)': () => work,
  },
  retry: {
    sluice: () => {
      const p = retry({ maxAttempts: 3 });
      return () => p.execute(work);
    },
    cockatiel: () => {
      // cockatiel counts retries, not attempts: 2 retries = 3 attempts.
      const p = cockatiel.retry(cockatiel.handleAll, {
        maxAttempts: 2,
        backoff: new cockatiel.ExponentialBackoff(),
      });
      return () => p.execute(work);
    },
  },
  timeout: {
    sluice: () => {
      const p = timeout(1_000);
      return () => p.execute(work);
    },
    cockatiel: () => {
      const p = cockatiel.timeout(1_000, cockatiel.TimeoutStrategy.Cooperative);
      return () => p.execute(work);
    },
  },
  'circuit breaker': {
    sluice: () => {
      const p = circuitBreaker({ window: { type: 'count', size: 100 } });
      return () => p.execute(work);
    },
    cockatiel: () => {
      const p = cockatielBreaker();
      return () => p.execute(work);
    },
    opossum: () => opossum({ timeout: false }),
  },
  'retry + breaker + timeout': {
    sluice: () => {
      const p = wrap(retry({ maxAttempts: 3 }), circuitBreaker(), timeout(1_000));
      return () => p.execute(work);
    },
    cockatiel: () => {
      // cockatiel counts retries, not attempts: 2 retries = 3 attempts.
      const p = cockatiel.wrap(
        cockatiel.retry(cockatiel.handleAll, {
          maxAttempts: 2,
          backoff: new cockatiel.ExponentialBackoff(),
        }),
        cockatielBreaker(),
        cockatiel.timeout(1_000, cockatiel.TimeoutStrategy.Cooperative),
      );
      return () => p.execute(work);
    },
    'opossum (breaker + timeout, no retry)': () => opossum({ timeout: 1_000 }),
  },
  bulkhead: {
    sluice: () => {
      const p = bulkhead({ maxConcurrent: 10, maxQueue: 10 });
      return () => p.execute(work);
    },
    cockatiel: () => {
      const p = cockatiel.bulkhead(10, 10);
      return () => p.execute(work);
    },
    'opossum (capacity)': () => opossum({ timeout: false, capacity: 10 }),
  },
};

const rows = [];
const heapRows = [];
for (const [name, impls] of Object.entries(cases)) {
  for (const [impl, make] of Object.entries(impls)) {
    const op = make();
    // cockatiel's timeout costs ~30 µs a call here: fewer iterations keep the run short.
    const slowPeer = impl === 'cockatiel' && name.includes('timeout');
    const iterations = quick || slowPeer ? 100_000 : 300_000;
    const figures = await measure(op, { iterations, rounds: 5 });
    rows.push({ case: name, impl, ...figures });
    const growth = await heapGrowth(make(), heapCalls);
    heapRows.push({ case: name, impl, heapKb: growth / 1024 });
  }
}
for (const breaker of opossumBreakers) breaker.shutdown();

printTable('Resilience policies: CPU time per call', rows);
printTable(`Heap growth after ${heapCalls.toLocaleString('en-US')} calls`, heapRows, {
  metric: 'heapKb',
  unit: 'KiB',
});
console.log(
  '\nGoals (issue 2): each policy alone <= 300 ns/op, retry + breaker + timeout <= 1000 ns/op, flat heap.',
);
