// Local rate limiters, concurrency limits and the bounded channel: CPU ns and ops/s per
// call. No peer library is installed for these, so the rows compare ours with each other.
// Usage (after `npm run build` at the root): cd bench && node --expose-gc flow.bench.mjs
import {
  boundedChannel,
  fixedConcurrencyLimit,
  gcra,
  gradientLimit,
  tokenBucket,
} from 'sluice/flow';
import { heapGrowth, measure, printTable } from './lib.mjs';

const BATCH = 1_000;
const ITERATIONS = 1_000_000;

function keys(n) {
  return Array.from({ length: n }, (_, i) => `user:${i}`);
}

/** Runs `take` over `keyList` in batches, so the per-call figure excludes await overhead. */
function taking(limiter, keyList) {
  let i = 0;
  const n = keyList.length;
  return () => {
    for (let b = 0; b < BATCH; b++) {
      limiter.take(keyList[i]);
      i = i + 1 === n ? 0 : i + 1;
    }
  };
}

// Realistic per-key limits, so keys stay active (never idle) and the tables stay full.
const bucketOptions = { capacity: 100, refillPerSecond: 10 };
const gcraOptions = { limit: 10, periodMs: 1_000, burst: 100 };
const limiters = {
  tokenBucket: (maxKeys) => tokenBucket({ name: 'bench', ...bucketOptions, maxKeys }),
  gcra: (maxKeys) => gcra({ name: 'bench', ...gcraOptions, maxKeys }),
};
const keySets = [
  ['one key', keys(1), undefined],
  ['10k keys', keys(10_000), undefined],
  ['1M keys, 100k kept (evicting)', keys(1_000_000), 100_000],
];

const rows = [];
for (const [label, keyList, maxKeys] of keySets) {
  for (const [kind, make] of Object.entries(limiters)) {
    const figures = await measure(taking(make(maxKeys), keyList), {
      iterations: ITERATIONS,
      batch: BATCH,
    });
    rows.push({ case: `${kind}.take, ${label}`, impl: 'sluice', ...figures });
  }
}

// The same one-key take with a clock that costs nothing shows what reading the clock costs.
const frozen = { now: () => 1_000 };
rows.push({
  case: 'gcra.take, one key, frozen clock',
  impl: 'sluice',
  ...(await measure(taking(gcra({ ...gcraOptions, burst: 1e9, clock: frozen }), keys(1)), {
    iterations: ITERATIONS,
    batch: BATCH,
  })),
});

for (const [kind, limit] of [
  ['fixed', fixedConcurrencyLimit(64)],
  ['gradient', gradientLimit({ initial: 64 })],
]) {
  const op = () => {
    for (let b = 0; b < BATCH; b++) limit.tryAcquire().success();
  };
  const figures = await measure(op, { iterations: ITERATIONS, batch: BATCH });
  rows.push({ case: `${kind} limit tryAcquire + success`, impl: 'sluice', ...figures });
}

const channel = boundedChannel({ capacity: 1_024 });
const sendReceive = async () => {
  for (let b = 0; b < BATCH; b++) channel.trySend(b);
  for (let b = 0; b < BATCH; b++) await channel.receive();
};
rows.push({
  case: 'boundedChannel trySend + receive',
  impl: 'sluice',
  ...(await measure(sendReceive, { iterations: ITERATIONS, batch: BATCH })),
});

printTable('flow: local rate limiters, concurrency limits, channel (no peer; ours only)', rows);

const bounded = gcra({ name: 'heap', ...gcraOptions, maxKeys: 10_000 });
const many = keys(1_000_000);
let k = 0;
const growth = await heapGrowth(() => bounded.take(many[k++ % many.length]), 1_000_000);
console.log(
  `\nheap growth after 1e6 gcra takes over 1e6 distinct keys (maxKeys 10k): ${(growth / 1e6).toFixed(1)} MB; keys kept: ${bounded.size}`,
);
