import type {
  LogInput,
  SampleInput,
  SpanRecord,
  TelemetryStore,
} from '../../src/observe/store/index.js';

export interface HistoryOptions {
  /** The recorded window starts here: the traffic since is replayed into the past. */
  since: number;
  /** How far back the history reaches from `now`. */
  minutes: number;
  /** The scrape interval the history of each series is written at. */
  scrapeMs: number;
  now?: number;
}

export interface HistoryFigures {
  spans: number;
  logs: number;
  samples: number;
}

/** Counters grow; everything else Prometheus exports is kept at its first value. */
const COUNTER = /(_total|_count|_sum|_bucket)$/;

/**
 * A store that looks as if the system had run for `minutes`: the spans and logs recorded
 * since `since` are copied again and again into the past (new trace and span ids, the same
 * shapes, services, routes and durations), and every series gets a sample per scrape
 * interval back to the start, counters growing from zero at the rate they grew while
 * recorded.
 * Written oldest first, as the store would have received them.
 */
export function replayHistory(store: TelemetryStore, options: HistoryOptions): HistoryFigures {
  const now = options.now ?? Date.now();
  const start = now - options.minutes * 60_000;
  const windowMs = Math.max(1000, now - options.since);
  const spans = recordedSpans(store, options.since);
  const logs = recordedLogs(store, options.since);
  const copies = Math.ceil((options.since - start) / windowMs);
  const figures: HistoryFigures = { spans: 0, logs: 0, samples: 0 };
  for (let copy = copies; copy >= 1; copy--) {
    const shift = copy * windowMs;
    const batch = spans
      .filter((s) => s.startMs - shift >= start)
      .map((s) => shiftedSpan(s, copy, shift));
    store.addSpans(batch);
    figures.spans += batch.length;
    const lines = logs
      .filter((l) => l.timeMs - shift >= start)
      .map((l) => ({
        ...l,
        timeMs: l.timeMs - shift,
        ...(l.traceId === undefined ? {} : { traceId: copied(l.traceId, copy) }),
      }));
    store.addLogs(lines);
    figures.logs += lines.length;
  }
  figures.samples = replaySamples(store, start, options.scrapeMs, now);
  return figures;
}

function recordedSpans(store: TelemetryStore, since: number): SpanRecord[] {
  const spans: SpanRecord[] = [];
  let until: number | undefined;
  for (;;) {
    const page = store.searchTraces({
      since,
      ...(until === undefined ? {} : { until }),
      limit: 1000,
    });
    for (const trace of page) spans.push(...(store.getTrace(trace.traceId)?.spans ?? []));
    if (page.length < 1000) return spans;
    until = Math.min(...page.map((t) => t.startMs));
  }
}

function recordedLogs(store: TelemetryStore, since: number): LogInput[] {
  const logs: LogInput[] = [];
  let before: number | undefined;
  for (;;) {
    const page = store.logs({ since, ...(before === undefined ? {} : { before }), limit: 1000 });
    for (const r of page.records) {
      logs.push({
        timeMs: r.timeMs,
        service: r.service,
        ...(r.instance === undefined ? {} : { instance: r.instance }),
        level: r.level,
        message: r.message,
        ...(r.traceId === undefined ? {} : { traceId: r.traceId }),
        ...(r.spanId === undefined ? {} : { spanId: r.spanId }),
        attributes: r.attributes,
      });
    }
    if (page.older === undefined) return logs.reverse();
    before = page.older;
  }
}

/** An id of copy `copy`: its first 6 hex digits replaced, so copies never collide. */
function copied(id: string, copy: number): string {
  return copy.toString(16).padStart(6, '0') + id.slice(6);
}

function shiftedSpan(span: SpanRecord, copy: number, shift: number): SpanRecord {
  return {
    ...span,
    traceId: copied(span.traceId, copy),
    spanId: copied(span.spanId, copy),
    ...(span.parentSpanId === undefined ? {} : { parentSpanId: copied(span.parentSpanId, copy) }),
    startMs: span.startMs - shift,
    events: span.events.map((e) => ({ ...e, timeMs: e.timeMs - shift })),
    links: span.links.map((l) => ({
      ...l,
      traceId: copied(l.traceId, copy),
      spanId: copied(l.spanId, copy),
    })),
  };
}

function replaySamples(
  store: TelemetryStore,
  start: number,
  scrapeMs: number,
  now: number,
): number {
  const recorded = store.metricNames().flatMap((name) =>
    store.series({ name, from: 0, to: now + 1000, limit: 1000 }).map((series) => {
      const [first, last] = [series.points[0]!, series.points.at(-1)!];
      const rate =
        COUNTER.test(name) && last[0] > first[0] ? (last[1] - first[1]) / (last[0] - first[0]) : 0;
      return { name, labels: series.labels, first, rate };
    }),
  );
  let written = 0;
  for (let back = Math.ceil((now - start) / scrapeMs); back >= 1; back--) {
    const samples: SampleInput[] = [];
    for (const { name, labels, first, rate } of recorded) {
      const t = first[0] - back * scrapeMs;
      if (t < start) continue;
      // A counter of the history grew from zero at `start`; the recorded process started
      // afresh, so its first sample is a counter reset, as after a restart.
      const value = rate === 0 ? first[1] : rate * (t - start);
      samples.push({ name, labels, timeMs: t, value });
    }
    store.addSamples(samples);
    written += samples.length;
  }
  return written;
}
