// The harness every engine benchmark (nats, redis, rabbitmq, postgres) shares, so that each
// reports the same figures the same way: publish msgs/s and CPU per message; end to end
// (publish -> handle -> ack) msgs/s, CPU per message and p50/p99 of publish call -> handler.
// CPU is user + sys of this one process (producer and consumer both run in it), steadier on
// a busy machine than rates. Every figure is the median of interleaved rounds after a
// warm-up round, so JIT warm-up and a slow moment of a shared machine colour all alike.
// Flags: --quick (fewer messages, no warm-up), --rounds N, --messages N.
import { machine, median, percentile } from './lib.mjs';

const figures = ['publish', 'publishCpu', 'rate', 'e2eCpu', 'p50', 'p99'];

function flag(name) {
  const at = process.argv.indexOf(name);
  return at < 0 ? undefined : Number(process.argv[at + 1]);
}

/**
 * Messages per run, rounds, publishes in flight and consumer prefetch, from the flags;
 * `full` sets a slow engine's messages and rounds when not --quick.
 */
export function engineSettings(full = {}) {
  const quick = process.argv.includes('--quick');
  return {
    quick,
    n: flag('--messages') ?? (quick ? 3_000 : (full.messages ?? 20_000)),
    rounds: flag('--rounds') ?? (quick ? 3 : (full.rounds ?? 5)),
    inFlight: 64,
    prefetch: 128,
    concurrency: 64,
  };
}

/** The payload every implementation sends; `at` carries the send time for latency. */
export const payload = (i) => ({ orderId: i, sku: 'tea-0001', qty: 2, at: performance.now() });

function cpuMicros() {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/** Measures one implementation's run; `n` and `inFlight` are fixed for the whole bench. */
export class EngineRun {
  constructor(n, settings, round) {
    this.n = n;
    this.inFlight = settings.inFlight;
    this.settings = settings;
    this.round = round;
  }

  /**
   * A sluice broker's figures: publishing to queue `pub` (after one untimed publish that
   * sets the queue up), then end to end on queue `e2e`.
   */
  async broker(broker, { pub = 'pub', e2e = 'e2e' } = {}) {
    const { prefetch, concurrency } = this.settings;
    const pubQueue = broker.queue(pub);
    await pubQueue.publish(payload(-1));
    const published = await this.publishing((i) => pubQueue.publish(payload(i)));
    const e2eQueue = broker.queue(e2e);
    const handled = await this.endToEnd(
      async (onMessage) => {
        const consumer = e2eQueue.consume((m) => onMessage(m.payload.at), {
          prefetch,
          concurrency,
        });
        return () => consumer.stop();
      },
      (i) => e2eQueue.publish(payload(i)),
    );
    return { ...published, ...handled };
  }

  /** Calls `send(i)` for i in [0, n) with `inFlight` outstanding; returns msgs/s. */
  async drive(send) {
    let next = 0;
    const t0 = performance.now();
    const lane = async () => {
      while (next < this.n) await send(next++);
    };
    await Promise.all(Array.from({ length: this.inFlight }, lane));
    return (this.n * 1000) / (performance.now() - t0);
  }

  /** Publishes n with `send`: msgs/s and CPU µs per message. */
  async publishing(send) {
    const cpu0 = cpuMicros();
    const publish = await this.drive(send);
    return { publish, publishCpu: (cpuMicros() - cpu0) / this.n };
  }

  /**
   * Publishes n with `send` while the consumer `start(onMessage)` set up handles them (it
   * calls onMessage with the payload's `at`, and returns its stop function).
   */
  async endToEnd(start, send) {
    const latencies = [];
    let resolveDone;
    const done = new Promise((resolve) => {
      resolveDone = resolve;
    });
    const onMessage = (sentAt) => {
      latencies.push(performance.now() - sentAt);
      if (latencies.length === this.n) resolveDone();
    };
    const stop = await start(onMessage);
    const t0 = performance.now();
    const cpu0 = cpuMicros();
    await this.drive(send);
    await done;
    const rate = (this.n * 1000) / (performance.now() - t0);
    const e2eCpu = (cpuMicros() - cpu0) / this.n;
    await stop();
    latencies.sort((a, b) => a - b);
    return { rate, e2eCpu, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
  }
}

/**
 * Runs each implementation (`name -> async (run) => figures`, `sluice` first) once per
 * round, interleaved, after an unrecorded warm-up round, and returns the median figures.
 */
export async function runRounds(impls, settings) {
  const { n, rounds, quick } = settings;
  const runs = Object.fromEntries(Object.keys(impls).map((name) => [name, []]));
  if (!quick) {
    for (const fn of Object.values(impls)) await fn(new EngineRun(Math.ceil(n / 4), settings, -1));
  }
  for (let round = 0; round < rounds; round++) {
    for (const [name, fn] of Object.entries(impls)) {
      runs[name].push(await fn(new EngineRun(n, settings, round)));
    }
  }
  const results = {};
  for (const [name, list] of Object.entries(runs)) {
    results[name] = Object.fromEntries(figures.map((k) => [k, median(list.map((r) => r[k]))]));
  }
  return results;
}

/** One table: every implementation's figures, and each peer's ratios against sluice. */
export function printEngineTable(title, results, settings) {
  const { n, rounds, inFlight, prefetch, concurrency } = settings;
  console.log(`\n## ${title}`);
  console.log(
    `${n} messages per run, ${inFlight} publishes in flight, prefetch ${prefetch}, concurrency ${concurrency}, JSON payload ~80 B; median of ${rounds} interleaved rounds`,
  );
  console.log(`${machine()}\n`);
  const ours = results.sluice;
  const fixed = (v, digits) => (Number.isFinite(v) ? v.toFixed(digits) : '-');
  const int = (v) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '-');
  const ratio = (a, b) => `${fixed(a / b, 2)}x`;
  const rows = [
    [
      'impl',
      'publish msgs/s',
      'cpu µs/msg',
      'e2e msgs/s',
      'cpu µs/msg',
      'p50 ms',
      'p99 ms',
      'sluice÷it: publish',
      'e2e',
      'e2e cpu',
    ],
  ];
  for (const [name, r] of Object.entries(results)) {
    const peer = r !== ours;
    rows.push([
      name,
      int(r.publish),
      fixed(r.publishCpu, 1),
      int(r.rate),
      fixed(r.e2eCpu, 1),
      fixed(r.p50, 2),
      fixed(r.p99, 2),
      peer ? ratio(ours.publish, r.publish) : '',
      peer ? ratio(ours.rate, r.rate) : '',
      peer ? ratio(ours.e2eCpu, r.e2eCpu) : '',
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => String(row[i]).length)));
  for (const row of rows) console.log(row.map((v, i) => String(v).padEnd(widths[i])).join('  '));
  console.log(
    '\nsluice÷it: msgs/s ratios > 1 mean sluice is faster; the cpu ratio > 1 means sluice costs more per message.',
  );
}
