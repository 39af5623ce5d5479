import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Registry } from 'prom-client';
import { InvalidArgumentError } from '../../core/errors.js';
import { defineCounter, defineGauge } from '../metrics.js';
import { LEVEL_NUMBERS } from './levels.js';
import type { LogInput, SampleInput } from './otlp-records.js';
import { type QueryContext, StoreQueries } from './queries.js';
import type { AttributeValue, Signal, SpanRecord, StoreCaps, StoreStats } from './query.js';
import { createSchema } from './schema.js';

export const DEFAULT_STORE_CAPS: StoreCaps = {
  maxSpans: 200_000,
  maxLogs: 200_000,
  maxSamples: 1_000_000,
  maxAgeMs: 24 * 60 * 60 * 1000,
};

export interface TelemetryStoreOptions {
  /** A file (created with its folder), or `:memory:`. */
  path: string;
  caps?: Partial<StoreCaps>;
  registry?: Registry | undefined;
  /** Default `Date.now`; the age cap is measured against it. */
  now?: () => number;
}

const TABLE: Record<Signal, { table: string; time: string; key: string }> = {
  spans: { table: 'spans', time: 'start_ms', key: 'id' },
  logs: { table: 'logs', time: 'time_ms', key: 'id' },
  samples: { table: 'samples', time: 'time_ms', key: 'rowid' },
};
const SIGNALS: readonly Signal[] = ['spans', 'logs', 'samples'];

/**
 * Spans, logs and metric samples in one SQLite file (WAL), kept within count and age caps:
 * a write past a count cap removes the oldest rows in its own transaction, so the count
 * never exceeds the cap, and `prune()` (called on a timer by the owner) removes rows past
 * the age cap. What is removed is counted, in `stats()` and in
 * `sluice_telemetry_dropped_total`.
 */
export class TelemetryStore extends StoreQueries {
  readonly caps: StoreCaps;
  readonly #db: Database.Database;
  readonly #now: () => number;
  readonly #counts: Record<Signal, number>;
  readonly #dropped: Record<Signal, number> = { spans: 0, logs: 0, samples: 0 };
  readonly #droppedMetric;
  readonly #storedMetric;
  readonly #insertSpan: Database.Statement;
  readonly #findParent: Database.Statement;
  readonly #adoptChildren: Database.Statement;
  readonly #insertLink: Database.Statement;
  readonly #insertLog: Database.Statement;
  readonly #findSeries: Database.Statement;
  readonly #insertSeries: Database.Statement;
  readonly #insertSample: Database.Statement;
  readonly #dropLinks: Database.Statement;
  readonly #dropSeries: Database.Statement;

  constructor(options: TelemetryStoreOptions) {
    const caps = { ...DEFAULT_STORE_CAPS, ...options.caps };
    for (const [key, value] of Object.entries(caps)) {
      if (!Number.isInteger(value) || value < 1) {
        throw new InvalidArgumentError(`Telemetry store cap ${key} must be a positive integer`);
      }
    }
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    const db = new Database(options.path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    createSchema(db);
    const context: QueryContext = { db };
    super(context);
    this.caps = caps;
    this.#db = db;
    this.#now = options.now ?? Date.now;
    this.#counts = { spans: 0, logs: 0, samples: 0 };
    for (const signal of SIGNALS) {
      const row = db.prepare(`SELECT COUNT(*) AS n FROM ${TABLE[signal].table}`).get() as {
        n: number;
      };
      this.#counts[signal] = row.n;
    }
    this.#droppedMetric = defineCounter({
      name: 'sluice_telemetry_dropped_total',
      help: 'Spans, logs and samples the telemetry store removed to stay within its count and age caps.',
      labelNames: ['signal', 'reason'],
      labelValues: { signal: SIGNALS, reason: ['count', 'age'] },
      registry: options.registry,
    });
    this.#storedMetric = defineGauge({
      name: 'sluice_telemetry_stored',
      help: 'Spans, logs and samples held in the telemetry store.',
      labelNames: ['signal'],
      labelValues: { signal: SIGNALS },
      registry: options.registry,
    });
    this.#insertSpan = db.prepare(
      `INSERT INTO spans (trace_id, span_id, parent_span_id, service, name, start_ms, duration_ms,
         error, route, attributes, record, kind, destination, parent_service)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#findParent = db.prepare('SELECT service FROM spans WHERE trace_id = ? AND span_id = ?');
    this.#adoptChildren = db.prepare(
      `UPDATE spans SET parent_service = ? WHERE trace_id = ? AND parent_span_id = ?
         AND parent_service IS NULL`,
    );
    this.#insertLink = db.prepare(
      'INSERT INTO span_links (span_row, trace_id, linked_trace_id) VALUES (?, ?, ?)',
    );
    this.#insertLog = db.prepare(
      `INSERT INTO logs (time_ms, service, instance, level, message, trace_id, span_id, attributes)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#findSeries = db.prepare('SELECT id FROM series WHERE name = ? AND labels = ?');
    this.#insertSeries = db.prepare('INSERT INTO series (name, labels) VALUES (?, ?)');
    this.#insertSample = db.prepare(
      'INSERT INTO samples (series_id, time_ms, value) VALUES (?, ?, ?)',
    );
    this.#dropLinks = db.prepare(
      'DELETE FROM span_links WHERE span_row < (SELECT COALESCE(MIN(id), 9e18) FROM spans)',
    );
    this.#dropSeries = db.prepare(
      'DELETE FROM series WHERE NOT EXISTS (SELECT 1 FROM samples WHERE series_id = series.id)',
    );
    this.#publishCounts();
  }

  addSpans(spans: readonly SpanRecord[]): void {
    if (spans.length === 0) return;
    this.#write('spans', () => {
      for (const span of spans) {
        const route = span.attributes['http.route'];
        const parent =
          span.parentSpanId === undefined
            ? undefined
            : (this.#findParent.get(span.traceId, span.parentSpanId) as
                | { service: string }
                | undefined);
        const { lastInsertRowid } = this.#insertSpan.run(
          span.traceId,
          span.spanId,
          span.parentSpanId ?? null,
          span.service,
          span.name,
          span.startMs,
          span.durationMs,
          span.status === 'error' ? 1 : 0,
          typeof route === 'string' ? route : null,
          JSON.stringify(span.attributes),
          JSON.stringify(span),
          span.kind,
          sqlValue(span.attributes['messaging.destination.name']),
          parent?.service ?? null,
        );
        // Children that came in before their parent learn its service now.
        this.#adoptChildren.run(span.service, span.traceId, span.spanId);
        for (const link of span.links) {
          if (link.traceId !== span.traceId) {
            this.#insertLink.run(lastInsertRowid, span.traceId, link.traceId);
          }
        }
      }
      return spans.length;
    });
  }

  addLogs(logs: readonly LogInput[]): void {
    if (logs.length === 0) return;
    this.#write('logs', () => {
      for (const log of logs) {
        this.#insertLog.run(
          log.timeMs,
          log.service,
          log.instance ?? null,
          LEVEL_NUMBERS[log.level],
          log.message,
          log.traceId ?? null,
          log.spanId ?? null,
          JSON.stringify(log.attributes),
        );
      }
      return logs.length;
    });
  }

  /** Samples whose value is not a finite number (NaN, ±Inf) are left out. */
  addSamples(samples: readonly SampleInput[]): void {
    if (samples.length === 0) return;
    this.#write('samples', () => {
      let rows = 0;
      for (const sample of samples) {
        if (!Number.isFinite(sample.value)) continue;
        const labels = JSON.stringify(sortedLabels(sample.labels));
        const found = this.#findSeries.get(sample.name, labels) as { id: number } | undefined;
        const seriesId = found?.id ?? this.#insertSeries.run(sample.name, labels).lastInsertRowid;
        this.#insertSample.run(seriesId, sample.timeMs, sample.value);
        rows++;
      }
      return rows;
    });
  }

  /** Removes what is past the age cap (and the count cap); returns the rows removed. */
  prune(): number {
    let removed = 0;
    const cutoff = this.#now() - this.caps.maxAgeMs;
    for (const signal of SIGNALS) {
      const { table, time } = TABLE[signal];
      const { changes } = this.#db.prepare(`DELETE FROM ${table} WHERE ${time} < ?`).run(cutoff);
      this.#removed(signal, changes, 'age');
      const over = this.#deleteOldest(signal, this.#counts[signal] - this.#cap(signal));
      this.#removed(signal, over, 'count');
      if (changes + over > 0) this.#cleanUp(signal);
      removed += changes + over;
    }
    return removed;
  }

  stats(): StoreStats {
    const oldestMs: StoreStats['oldestMs'] = {};
    for (const signal of SIGNALS) {
      const { table, time } = TABLE[signal];
      const row = this.#db.prepare(`SELECT MIN(${time}) AS t FROM ${table}`).get() as {
        t: number | null;
      };
      if (row.t !== null) oldestMs[signal] = row.t;
    }
    return {
      caps: { ...this.caps },
      counts: { ...this.#counts },
      dropped: { ...this.#dropped },
      oldestMs,
    };
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }

  /**
   * Runs `insert` (which returns the rows it wrote) and removes the oldest rows past the
   * count cap in the same transaction: a reader never sees more rows than the cap.
   */
  #write(signal: Signal, insert: () => number): void {
    const { rows, over } = this.#db.transaction(() => {
      const rows = insert();
      const over = this.#deleteOldest(signal, this.#counts[signal] + rows - this.#cap(signal));
      if (over > 0) this.#cleanUp(signal);
      return { rows, over };
    })();
    this.#counts[signal] += rows;
    this.#removed(signal, over, 'count');
    this.#publishCounts();
  }

  /** Deletes the `count` oldest rows of a signal (none when `count` is not positive). */
  #deleteOldest(signal: Signal, count: number): number {
    if (count <= 0) return 0;
    const { table, key } = TABLE[signal];
    return this.#db
      .prepare(
        `DELETE FROM ${table} WHERE ${key} IN (SELECT ${key} FROM ${table} ORDER BY ${key} LIMIT ?)`,
      )
      .run(count).changes;
  }

  #removed(signal: Signal, rows: number, reason: 'count' | 'age'): void {
    if (rows === 0) return;
    this.#counts[signal] -= rows;
    this.#dropped[signal] += rows;
    this.#droppedMetric.inc({ signal, reason }, rows);
    this.#publishCounts();
  }

  /** Links of removed spans, and series without samples, go with them. */
  #cleanUp(signal: Signal): void {
    if (signal === 'spans') this.#dropLinks.run();
    if (signal === 'samples') this.#dropSeries.run();
  }

  #cap(signal: Signal): number {
    return signal === 'spans'
      ? this.caps.maxSpans
      : signal === 'logs'
        ? this.caps.maxLogs
        : this.caps.maxSamples;
  }

  #publishCounts(): void {
    for (const signal of SIGNALS) this.#storedMetric.set({ signal }, this.#counts[signal]);
  }
}

/** An attribute as SQLite's `json_extract` would give it. */
function sqlValue(value: AttributeValue | undefined): string | number | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  return Array.isArray(value) ? JSON.stringify(value) : value;
}

function sortedLabels(labels: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(labels).sort()) out[key] = labels[key]!;
  return out;
}
