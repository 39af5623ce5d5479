// The client app of the several-hosts test: WORKERS loops, each calling UPSTREAM_URL (its
// sidecar's loopback listener) and pausing PAUSE_MS, printing one JSON line per call:
// {"worker":0,"sentAt":<epoch ms>,"status":200,"host":"a"}, or "status":504, or "error".
// A line "metrics" on stdin prints the sidecar's metrics (ADMIN_URL) as {"metrics":"..."}.
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

const url = `${process.env.UPSTREAM_URL}/who`;
const pause = Number(process.env.PAUSE_MS ?? 10);
let running = true;

async function call() {
  try {
    const res = await fetch(url);
    const text = await res.text();
    let host;
    try {
      host = JSON.parse(text).host;
    } catch {}
    return { status: res.status, ...(host === undefined ? {} : { host }) };
  } catch (error) {
    return { error: String(error.cause?.code ?? error.message) };
  }
}

async function worker(_, index) {
  while (running) {
    const sentAt = Date.now();
    const result = await call();
    console.log(JSON.stringify({ worker: index, sentAt, ...result }));
    await sleep(pause);
  }
}

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() !== 'metrics') return;
  fetch(`${process.env.ADMIN_URL}/metrics`)
    .then((res) => res.text())
    .then(
      (metrics) => console.log(JSON.stringify({ metrics })),
      (error) => console.log(JSON.stringify({ metrics: '', error: String(error) })),
    );
});
process.once('SIGTERM', () => {
  running = false;
  setTimeout(() => process.exit(0), 100);
});
await Promise.all(Array.from({ length: Number(process.env.WORKERS ?? 4) }, worker));
