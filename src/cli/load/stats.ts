import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

export type Operation = 'login' | 'browse' | 'product' | 'order' | 'retry' | 'status';
export type Outcome = '2xx' | '3xx' | '4xx' | '5xx' | 'error';

export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export interface OperationSummary {
  requests: number;
  latencyMs: LatencySummary;
}

const outcomes: Outcome[] = ['2xx', '3xx', '4xx', '5xx', 'error'];

/** Latencies in µs, in an HDR histogram (3 significant digits) rather than a list of samples. */
class Latencies {
  readonly #histogram: RecordableHistogram = createHistogram();
  count = 0;

  record(ms: number): void {
    this.#histogram.record(Math.max(1, Math.round(ms * 1000)));
    this.count++;
  }

  summary(): LatencySummary {
    const ms = (us: number) => (this.count === 0 ? 0 : Math.round(us) / 1000);
    const h = this.#histogram;
    return {
      p50: ms(h.percentile(50)),
      p90: ms(h.percentile(90)),
      p99: ms(h.percentile(99)),
      p999: ms(h.percentile(99.9)),
      max: ms(h.max),
      mean: ms(h.mean),
    };
  }
}

/** Counts and latencies of every request the load generator made. */
export class LoadStats {
  readonly byOutcome: Record<Outcome, number> = {
    '2xx': 0,
    '3xx': 0,
    '4xx': 0,
    '5xx': 0,
    error: 0,
  };
  /** 429 answers, also counted in `4xx`. */
  rateLimited = 0;
  /** Arrivals not sent because too many requests were already waiting for an answer. */
  skipped = 0;
  /** Error messages (timeouts, refused connections) and how often each happened. */
  readonly errors = new Map<string, number>();
  readonly #all = new Latencies();
  readonly #byOperation = new Map<Operation, Latencies>();

  get total(): number {
    return outcomes.reduce((sum, outcome) => sum + this.byOutcome[outcome], 0);
  }

  /** An answered request; `latencyMs` runs from when it was due to be sent. */
  answered(operation: Operation, status: number, latencyMs: number): void {
    this.byOutcome[outcomeOf(status)]++;
    if (status === 429) this.rateLimited++;
    this.#latency(operation, latencyMs);
  }

  failed(operation: Operation, message: string, latencyMs: number): void {
    this.byOutcome.error++;
    this.errors.set(message, (this.errors.get(message) ?? 0) + 1);
    this.#latency(operation, latencyMs);
  }

  latency(): LatencySummary {
    return this.#all.summary();
  }

  operations(): Partial<Record<Operation, OperationSummary>> {
    const result: Partial<Record<Operation, OperationSummary>> = {};
    for (const [operation, latencies] of this.#byOperation) {
      result[operation] = { requests: latencies.count, latencyMs: latencies.summary() };
    }
    return result;
  }

  #latency(operation: Operation, ms: number): void {
    this.#all.record(ms);
    let latencies = this.#byOperation.get(operation);
    if (latencies === undefined) {
      latencies = new Latencies();
      this.#byOperation.set(operation, latencies);
    }
    latencies.record(ms);
  }
}

function outcomeOf(status: number): Outcome {
  if (status >= 200 && status < 300) return '2xx';
  if (status >= 300 && status < 400) return '3xx';
  if (status >= 400 && status < 500) return '4xx';
  return '5xx';
}
